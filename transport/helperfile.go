package transport

import (
	"errors"
	"io"
	"io/fs"

	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// readAhead and writeBehind bound the chunks of one file in flight.
const (
	readAhead   = 8
	writeBehind = 16
)

// Open opens regular file name. The first chunk comes with the answer, so
// a small file costs one round trip; a larger one is read ahead in chunks.
// A symlink anywhere in name gives an error wrapping syscall.ELOOP; a FIFO
// or device one wrapping fs.ErrInvalid (the helper opens without blocking
// and checks what it opened).
func (f *helperFS) Open(name string) (io.ReadCloser, error) {
	if err := f.begin("open", name); err != nil {
		return nil, err
	}
	out, err := f.req("open", wire.OpOpen, name, func(e *wire.Enc) { e.Uint(wire.Chunk) })
	if err != nil {
		return nil, err
	}
	d := &wire.Dec{B: out}
	r := &helperReader{f: f, name: name, h: d.Uint(), size: d.Int()}
	r.buf = d.Bytes()
	r.eof = d.Uint() == 1
	if d.Err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: d.Err}
	}
	r.off = int64(len(r.buf))
	if r.eof {
		r.whole = r.buf
	}
	return r, nil
}

// helperReader reads a remote file; it implements io.WriterTo and
// io.ReaderAt too.
type helperReader struct {
	f     *helperFS
	name  string
	h     uint64 // the helper's handle; 0 when the whole file came with the open
	size  int64  // as fstat said at the open
	whole []byte // the whole file, when it came with the open
	buf   []byte // read and not yet returned
	off   int64  // offset of the next read request
	eof   bool   // no more requests: the end was seen
	queue []*call
}

func (r *helperReader) readReq(off int64, n int) *call {
	var e wire.Enc
	e.Uint(r.h)
	e.Int(off)
	e.Uint(uint64(n))
	return r.f.h.start(wire.OpRead, nil, e.B)
}

// next returns the next chunk, keeping up to readAhead requests in flight
// while the file is known to go on.
func (r *helperReader) next() ([]byte, error) {
	for !r.eof && len(r.queue) < readAhead && (r.off < r.size || len(r.queue) == 0) {
		r.queue = append(r.queue, r.readReq(r.off, wire.Chunk))
		r.off += wire.Chunk
	}
	if len(r.queue) == 0 {
		return nil, io.EOF
	}
	c := r.queue[0]
	r.queue = r.queue[1:]
	out, err := c.wait()
	if err != nil {
		r.eof, r.queue = true, nil
		return nil, remoteErr("read", r.name, err)
	}
	d := &wire.Dec{B: out}
	data := d.Bytes()
	if d.Err != nil {
		return nil, &fs.PathError{Op: "read", Path: r.name, Err: d.Err}
	}
	if len(data) < wire.Chunk {
		r.eof, r.queue = true, nil // later answers are dropped
	}
	return data, nil
}

func (r *helperReader) Read(b []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof && len(r.queue) == 0 {
			return 0, io.EOF
		}
		data, err := r.next()
		if err != nil {
			return 0, err
		}
		r.buf = data
	}
	n := copy(b, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// WriteTo writes the rest of the file to w chunk by chunk. Errors of w are
// returned as they are.
func (r *helperReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.buf) > 0 {
			n, err := w.Write(r.buf)
			total += int64(n)
			r.buf = r.buf[n:]
			if err != nil {
				return total, err
			}
		}
		if r.eof && len(r.queue) == 0 {
			return total, nil
		}
		data, err := r.next()
		if err != nil {
			return total, err
		}
		r.buf = data
	}
}

// ReadAt reads len(b) bytes at off, in chunks in flight together.
func (r *helperReader) ReadAt(b []byte, off int64) (int, error) {
	if r.h == 0 {
		if off >= int64(len(r.whole)) {
			return 0, io.EOF
		}
		n := copy(b, r.whole[off:])
		if n < len(b) {
			return n, io.EOF
		}
		return n, nil
	}
	var calls []*call
	for done := 0; done < len(b); done += wire.Chunk {
		calls = append(calls, r.readReq(off+int64(done), min(wire.Chunk, len(b)-done)))
	}
	n := 0
	var first error
	for _, c := range calls {
		out, err := c.wait()
		if first != nil {
			continue
		}
		if err != nil {
			first = remoteErr("read", r.name, err)
			continue
		}
		d := &wire.Dec{B: out}
		data := d.Bytes()
		n += copy(b[n:], data)
		if len(data) < wire.Chunk && n < len(b) {
			first = io.EOF
		}
	}
	return n, first
}

// Close gives the handle back without waiting for the answer: nothing a
// reader could do about a failed close.
func (r *helperReader) Close() error {
	if r.h != 0 {
		var e wire.Enc
		e.Uint(r.h)
		r.f.h.start(wire.OpClose, nil, e.B)
		r.h = 0
	}
	r.queue = nil
	return nil
}

// Create creates name exclusively with the permission bits perm. Writes
// travel in chunks without waiting for each answer (up to writeBehind in
// flight); an error shows at a later Write, Sync or Close.
func (f *helperFS) Create(name string, perm fs.FileMode) (WriteFile, error) {
	if err := f.entry("create", name); err != nil {
		return nil, err
	}
	out, err := f.req("create", wire.OpCreate, name, func(e *wire.Enc) { e.Uint(uint64(perm.Perm())) })
	if err != nil {
		return nil, err
	}
	d := &wire.Dec{B: out}
	w := &helperWriter{f: f, name: name, h: d.Uint()}
	if d.Err != nil {
		return nil, &fs.PathError{Op: "create", Path: name, Err: d.Err}
	}
	return w, nil
}

// OpenPatch opens regular file name for writing at offsets.
func (f *helperFS) OpenPatch(name string) (PatchFile, error) {
	if err := f.entry("patch", name); err != nil {
		return nil, err
	}
	out, err := f.req("patch", wire.OpOpenPatch, name, nil)
	if err != nil {
		return nil, err
	}
	d := &wire.Dec{B: out}
	w := &helperWriter{f: f, name: name, h: d.Uint()}
	if d.Err != nil {
		return nil, &fs.PathError{Op: "patch", Path: name, Err: d.Err}
	}
	return w, nil
}

// helperWriter is a remote file open for writing.
type helperWriter struct {
	f       *helperFS
	name    string
	h       uint64
	off     int64
	pending []*call
	err     error
	closed  bool
}

// send starts writing b at off.
func (w *helperWriter) send(b []byte, off int64) {
	var e wire.Enc
	e.Uint(w.h)
	e.Int(off)
	e.Uint(uint64(len(b)))
	w.pending = append(w.pending, w.f.h.start(wire.OpWrite, nil, e.B, b))
}

// drain waits until at most keep writes are in flight.
func (w *helperWriter) drain(keep int) error {
	for len(w.pending) > keep {
		c := w.pending[0]
		w.pending = w.pending[1:]
		if _, err := c.wait(); err != nil && w.err == nil {
			w.err = remoteErr("write", w.name, err)
		}
	}
	return w.err
}

func (w *helperWriter) Write(b []byte) (int, error) {
	n, err := w.WriteAt(b, w.off)
	w.off += int64(n)
	return n, err
}

func (w *helperWriter) WriteAt(b []byte, off int64) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, &fs.PathError{Op: "write", Path: w.name, Err: fs.ErrClosed}
	}
	for done := 0; done < len(b); done += wire.Chunk {
		w.send(b[done:min(done+wire.Chunk, len(b))], off+int64(done))
		if err := w.drain(writeBehind); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// ReadFrom copies r to the file in chunks. Errors of r are returned as
// they are.
func (w *helperWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		buf := make([]byte, wire.Chunk)
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		switch {
		case rerr == io.EOF || errors.Is(rerr, io.ErrUnexpectedEOF):
			return total, nil
		case rerr != nil:
			return total, rerr
		}
	}
}

// handleReq runs a request on the handle after every write is answered.
func (w *helperWriter) handleReq(op string, wop byte, rest func(e *wire.Enc)) error {
	if err := w.drain(0); err != nil {
		return err
	}
	var e wire.Enc
	e.Uint(w.h)
	if rest != nil {
		rest(&e)
	}
	if _, err := w.f.h.do(wop, e.B); err != nil {
		return remoteErr(op, w.name, err)
	}
	return nil
}

func (w *helperWriter) Sync() error { return w.handleReq("sync", wire.OpSync, nil) }

func (w *helperWriter) Truncate(size int64) error {
	return w.handleReq("truncate", wire.OpTruncate, func(e *wire.Enc) { e.Int(size) })
}

func (w *helperWriter) Close() error {
	if w.closed {
		return nil
	}
	err := w.drain(0)
	w.closed = true
	var e wire.Enc
	e.Uint(w.h)
	if _, cerr := w.f.h.do(wire.OpClose, e.B); cerr != nil && err == nil {
		err = remoteErr("close", w.name, cerr)
	}
	return err
}

// HashFile hashes regular file name on the host.
func (f *helperFS) HashFile(name string) (Sum, error) {
	if err := f.begin("hash", name); err != nil {
		return Sum{}, err
	}
	out, err := f.req("hash", wire.OpHash, name, nil)
	if err != nil {
		return Sum{}, err
	}
	var s Sum
	if len(out) != len(s) {
		return Sum{}, &fs.PathError{Op: "hash", Path: name, Err: wire.ErrFrame}
	}
	copy(s[:], out)
	return s, nil
}

// HashFiles hashes the files on the host, all requests in flight together
// (the helper works on many at once).
func (f *helperFS) HashFiles(names []string) ([]Sum, error) {
	calls := make([]*call, len(names))
	for i, n := range names {
		if err := f.begin("hash", n); err != nil {
			return nil, err
		}
		var e wire.Enc
		e.String(n)
		calls[i] = f.h.start(wire.OpHash, nil, e.B)
	}
	sums := make([]Sum, len(names))
	var first error
	for i, c := range calls {
		out, err := c.wait()
		switch {
		case first != nil:
		case err != nil:
			first = remoteErr("hash", names[i], err)
		case len(out) != len(sums[i]):
			first = &fs.PathError{Op: "hash", Path: names[i], Err: wire.ErrFrame}
		default:
			copy(sums[i][:], out)
		}
	}
	if first != nil {
		return nil, first
	}
	return sums, nil
}

// HashBlocks hashes the blocks of regular file name on the host.
func (f *helperFS) HashBlocks(name string, size int64) ([]Sum, error) {
	if err := f.begin("hash", name); err != nil {
		return nil, err
	}
	out, err := f.req("hash", wire.OpHashBlocks, name, func(e *wire.Enc) { e.Uint(uint64(size)) })
	if err != nil {
		return nil, err
	}
	if len(out)%32 != 0 {
		return nil, &fs.PathError{Op: "hash", Path: name, Err: wire.ErrFrame}
	}
	sums := make([]Sum, len(out)/32)
	for i := range sums {
		copy(sums[i][:], out[i*32:])
	}
	return sums, nil
}
