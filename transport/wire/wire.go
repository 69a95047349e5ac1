// Package wire is the protocol between the tool and its helper on a remote
// host ("backup serve"): length-prefixed frames on the SSH session's
// standard input and output, each carrying a request id, so that many
// requests are in flight at once and answered in any order.
//
// A frame is a 4-byte big-endian length of what follows, a 4-byte request
// id, one op byte and the payload. The client sends a request op; the
// server answers with RepOK (the result) or RepErr (an Error), after any
// number of RepItem frames for requests that stream (listings). Payloads
// are built with Enc and read with Dec: unsigned and signed varints and
// length-prefixed byte strings.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Version is the protocol version; both ends must speak the same one.
// Change it with any change to the ops or their payloads.
const Version = 1

// MaxFrame bounds the bytes after a frame's length; a peer sending a
// longer frame is broken.
const MaxFrame = 2 << 20

// Chunk is the most data one read or write request carries.
const Chunk = 256 << 10

// Request ops.
const (
	OpHello      = 1 + iota // server → client first: version, program, root
	OpLstat                 // name → info
	OpReadDir               // name → items of infos
	OpReadlink              // name → target
	OpOpen                  // name, first → handle, size, data, eof
	OpRead                  // handle, off, n → data
	OpClose                 // handle →
	OpCreate                // name, perm → handle
	OpWrite                 // handle, off, data →
	OpSync                  // handle →
	OpTruncate              // handle, size →
	OpMkdir                 // name, perm →
	OpSymlink               // target, name →
	OpRename                // old, new →
	OpRemove                // name →
	OpChmod                 // name, mode →
	OpChtimes               // name, sec, nsec →
	OpLchown                // name, uid, gid →
	OpLink                  // old, new →
	OpHash                  // name → sum
	OpHashBlocks            // name, size → sums
	OpListTree              // dir → items of tree entries
	OpClone                 // old, new →
	OpOpenPatch             // name → handle
	OpSyncFS                // dirs... →
)

// Reply ops.
const (
	RepOK   = 0x80 + iota // the result
	RepErr                // an Error
	RepItem               // one part of a streamed result
)

// Error kinds besides a plain errno.
const (
	KindErrno        = iota // Errno holds the system's error number
	KindInvalid             // an invalid name or request (fs.ErrInvalid)
	KindNotSupported        // the helper cannot do this here
	KindOther               // only the message says
)

// Error is the payload of a RepErr frame.
type Error struct {
	Kind  uint64
	Errno uint64
	Path  string // the name the error is about, when not the request's
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// Encode appends e to an Enc.
func (e *Error) Encode(enc *Enc) {
	enc.Uint(e.Kind)
	enc.Uint(e.Errno)
	enc.String(e.Path)
	enc.String(e.Msg)
}

// DecodeError reads an Error.
func DecodeError(d *Dec) *Error {
	e := &Error{Kind: d.Uint(), Errno: d.Uint(), Path: d.String(), Msg: d.String()}
	if d.Err != nil {
		return &Error{Kind: KindOther, Msg: "malformed error reply: " + d.Err.Error()}
	}
	return e
}

// ErrFrame reports a frame that breaks the protocol.
var ErrFrame = errors.New("malformed frame")

// Frame is one frame read.
type Frame struct {
	ID      uint32
	Op      byte
	Payload []byte
}

// ReadFrame reads the next frame; the payload is freshly allocated.
func ReadFrame(r *bufio.Reader) (Frame, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 5 || n > MaxFrame {
		return Frame{}, fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	f := Frame{ID: binary.BigEndian.Uint32(hdr[4:8]), Op: hdr[8], Payload: make([]byte, n-5)}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return f, nil
}

// Writer sends frames from many goroutines. It flushes when no other
// sender is waiting, so frames sent together travel together.
type Writer struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	waiting atomic.Int32
	err     error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufio.NewWriterSize(w, 64<<10)} }

// Send writes one frame whose payload is the concatenation of parts. After
// a write error every Send returns it.
func (w *Writer) Send(id uint32, op byte, parts ...[]byte) error {
	n := 5
	for _, p := range parts {
		n += len(p)
	}
	if n > MaxFrame {
		return fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	var hdr [9]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(n))
	binary.BigEndian.PutUint32(hdr[4:8], id)
	hdr[8] = op
	w.waiting.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.waiting.Add(-1) == 0
	if w.err != nil {
		return w.err
	}
	_, w.err = w.bw.Write(hdr[:])
	for _, p := range parts {
		if w.err == nil {
			_, w.err = w.bw.Write(p)
		}
	}
	if w.err == nil && last {
		w.err = w.bw.Flush()
	}
	return w.err
}

// Enc builds a payload.
type Enc struct{ B []byte }

// Uint appends an unsigned varint.
func (e *Enc) Uint(v uint64) { e.B = binary.AppendUvarint(e.B, v) }

// Int appends a signed varint.
func (e *Enc) Int(v int64) { e.B = binary.AppendVarint(e.B, v) }

// Bytes appends a length-prefixed byte string.
func (e *Enc) Bytes(b []byte) {
	e.Uint(uint64(len(b)))
	e.B = append(e.B, b...)
}

// String appends a length-prefixed string.
func (e *Enc) String(s string) {
	e.Uint(uint64(len(s)))
	e.B = append(e.B, s...)
}

// Dec reads a payload; the first failure sticks in Err and later reads
// return zero values.
type Dec struct {
	B   []byte
	Err error
}

func (d *Dec) fail() {
	if d.Err == nil {
		d.Err = fmt.Errorf("%w: payload cut short", ErrFrame)
	}
	d.B = nil
}

// Uint reads an unsigned varint.
func (d *Dec) Uint() uint64 {
	v, n := binary.Uvarint(d.B)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Int reads a signed varint.
func (d *Dec) Int() int64 {
	v, n := binary.Varint(d.B)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Bytes reads a length-prefixed byte string; it aliases the payload.
func (d *Dec) Bytes() []byte {
	n := d.Uint()
	if n > uint64(len(d.B)) {
		d.fail()
		return nil
	}
	b := d.B[:n:n]
	d.B = d.B[n:]
	return b
}

// String reads a length-prefixed string.
func (d *Dec) String() string { return string(d.Bytes()) }

// More reports whether bytes are left.
func (d *Dec) More() bool { return d.Err == nil && len(d.B) > 0 }
