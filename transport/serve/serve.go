//go:build linux

// Package serve is the helper the tool runs on a remote host, as
// "backup serve ROOT" over the SSH connection it holds: it answers the
// requests of the wire protocol on standard input and output, every one
// confined to the copy's root by the kernel (see root), so that no
// symlink, FIFO or directory swapped in during a run makes it read, write,
// rename or delete anything outside the root, or hang.
package serve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"syscall"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// maxInFlight bounds the requests the server works on at once; further
// ones wait in the pipe.
const maxInFlight = 64

// errInvalid reports a name that is not a valid relative slash path, or a
// request that does not apply to the name (removing the root).
var errInvalid = errors.New("invalid name")

// errUnsupported reports a request this build cannot do on this host.
var errUnsupported = errors.New("not supported by the helper here")

type server struct {
	root *root
	w    *wire.Writer

	mu      sync.Mutex
	handles map[uint64]*handle
	next    uint64
}

// Serve serves the tree at dir on in and out until in ends. It first sends
// the hello (or the error that kept it from opening dir).
func Serve(dir string, in io.Reader, out io.Writer) error {
	w := wire.NewWriter(out)
	r, err := start(dir)
	if err != nil {
		var e wire.Enc
		wireError(err).Encode(&e)
		_ = w.Send(0, wire.RepErr, e.B)
		return err
	}
	defer r.close()
	var hello wire.Enc
	hello.Uint(wire.Version)
	hello.String(wire.Program())
	hello.String(r.path)
	hello.String(r.mode())
	if err := w.Send(0, wire.OpHello, hello.B); err != nil {
		return err
	}
	s := &server{root: r, w: w, handles: map[uint64]*handle{}}
	defer s.closeAll()
	return s.loop(bufio.NewReaderSize(in, 256<<10))
}

// loop reads requests and works on each in its own goroutine.
func (s *server) loop(in *bufio.Reader) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxInFlight)
	for {
		f, err := wire.ReadFrame(in)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("serve: reading requests: %w", err)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.handle(f)
		}()
	}
}

// op is the handler of one request op: it reads the payload and returns
// the RepOK payload; streaming handlers send RepItem frames on id first.
type op func(s *server, id uint32, d *wire.Dec) ([]byte, error)

var ops = map[byte]op{
	wire.OpLstat: (*server).lstat, wire.OpReadDir: (*server).readDir, wire.OpReadlink: (*server).readlink,
	wire.OpOpen: (*server).open, wire.OpRead: (*server).read, wire.OpClose: (*server).closeHandle,
	wire.OpCreate: (*server).create, wire.OpWrite: (*server).write, wire.OpSync: (*server).sync,
	wire.OpTruncate: (*server).truncate, wire.OpMkdir: (*server).mkdir, wire.OpSymlink: (*server).symlink,
	wire.OpRename: (*server).rename, wire.OpRemove: (*server).remove, wire.OpChmod: (*server).chmod,
	wire.OpChtimes: (*server).chtimes, wire.OpLchown: (*server).lchown, wire.OpLink: (*server).link,
	wire.OpHash: (*server).hash, wire.OpHashBlocks: (*server).hashBlocks, wire.OpListTree: (*server).listTree,
	wire.OpClone: (*server).clone, wire.OpOpenPatch: (*server).openPatch, wire.OpSyncFS: (*server).syncFS,
}

func (s *server) handle(f wire.Frame) {
	fn := ops[f.Op]
	var out []byte
	err := errUnsupported
	if fn != nil {
		d := &wire.Dec{B: f.Payload}
		out, err = fn(s, f.ID, d)
		if err == nil && d.Err != nil {
			err = errInvalid
		}
	}
	if err != nil {
		var e wire.Enc
		wireError(err).Encode(&e)
		_ = s.w.Send(f.ID, wire.RepErr, e.B)
		return
	}
	_ = s.w.Send(f.ID, wire.RepOK, out)
}

// wireError gives err its kind on the wire; a *fs.PathError's Path is
// kept for errors about another name than the request's.
func wireError(err error) *wire.Error {
	e := &wire.Error{Kind: wire.KindOther, Msg: err.Error()}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		e.Path = pe.Path
		e.Msg = pe.Err.Error()
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, errInvalid), errors.Is(err, errNotRegular):
		e.Kind = wire.KindInvalid
	case errors.Is(err, errUnsupported):
		e.Kind = wire.KindNotSupported
	case errors.As(err, &errno):
		e.Kind, e.Errno = wire.KindErrno, uint64(errno)
	}
	return e
}

// name reads a name and checks it.
func name(d *wire.Dec) (string, error) {
	n := d.String()
	if d.Err != nil || !transport.ValidName(n) {
		return "", errInvalid
	}
	return n, nil
}

// entryName reads a name that must not be the root (for operations that
// create, replace or remove the entry itself).
func entryName(d *wire.Dec) (string, error) {
	n, err := name(d)
	if err == nil && n == "." {
		err = errInvalid
	}
	return n, err
}
