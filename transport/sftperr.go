package transport

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/pkg/sftp"
)

// kindError gives a server's status error a kind that errors.Is knows
// (fs.ErrNotExist, fs.ErrPermission, ...), keeping the server's words.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// SFTP status codes (draft-ietf-secsh-filexfer-02).
const (
	fxNoSuchFile       = 2
	fxPermissionDenied = 3
	fxFailure          = 4
	fxBadMessage       = 5
	fxOpUnsupported    = 8
)

// errEscape reports a name whose path holds a symlink; the SFTP FS never
// goes through one, so nothing outside the root can be reached.
var errEscape = errors.New("path goes through a symlink")

// errBadName reports a name sent by the server that is not a plain base
// name ("", ".", "..", or holding '/' or NUL).
var errBadName = errors.New("server sent an invalid name")

// pathErr turns an error of the SFTP client into the FS's *fs.PathError
// with the relative name: connection failures wrap ErrConnLost, status
// codes the fs kinds. io.EOF counts as a lost connection (it is what
// writing to a closed channel gives); readers handle their own EOF.
func (f *sftpFS) pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Path == name && pe.Op == op {
			return err // ours already
		}
		err = pe.Err // drop the client's absolute path
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: f.c.classify(err)}
}

// isNetErr reports an error of the network connection itself.
func isNetErr(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

func (c *sshConn) classify(err error) error {
	var se *sftp.StatusError
	switch {
	case errors.Is(err, ErrConnLost), errors.Is(err, fs.ErrInvalid) && !errors.As(err, &se):
		return err
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET), isNetErr(err), !c.alive():
		// A broken socket may surface here before the connection's
		// watcher has noticed: it is a lost connection all the same.
		return c.lost(err)
	case errors.As(err, &se):
		switch se.Code {
		case fxNoSuchFile:
			return &kindError{fs.ErrNotExist, err}
		case fxPermissionDenied:
			return &kindError{fs.ErrPermission, err}
		case fxBadMessage:
			return &kindError{fs.ErrInvalid, err}
		case fxOpUnsupported:
			return &kindError{ErrNotSupported, err}
		}
	case strings.Contains(err.Error(), "channel") && strings.Contains(err.Error(), "closed"):
		return c.lost(err)
	}
	return err
}

// isFailure reports whether err is the generic SSH_FX_FAILURE status, which
// OpenSSH also sends for EEXIST, ENOTEMPTY, EISDIR and the like.
func isFailure(err error) bool {
	var se *sftp.StatusError
	return errors.As(err, &se) && se.Code == fxFailure
}

var errLoop = syscall.ELOOP

// dirCache remembers absolute directory paths checked to exist with no
// symlink anywhere on their path, so that the check costs one round trip
// per directory, not per operation. Entries are dropped when this
// connection renames, removes or replaces them; changes made on the host
// by others behind the tool's back are not seen (a limit of SFTP, which
// has no openat).
type dirCache struct {
	mu   sync.Mutex
	root dirNode
}

type dirNode struct {
	ok   bool
	kids map[string]*dirNode
}

func splitAbs(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (c *dirCache) has(p string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &c.root
	for _, e := range splitAbs(p) {
		if n = n.kids[e]; n == nil {
			return false
		}
	}
	return n.ok
}

func (c *dirCache) add(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &c.root
	for _, e := range splitAbs(p) {
		k := n.kids[e]
		if k == nil {
			if n.kids == nil {
				n.kids = map[string]*dirNode{}
			}
			k = &dirNode{}
			n.kids[e] = k
		}
		n = k
	}
	n.ok = true
}

// drop forgets p and everything below it.
func (c *dirCache) drop(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	elems := splitAbs(p)
	if len(elems) == 0 {
		c.root = dirNode{}
		return
	}
	n := &c.root
	for _, e := range elems[:len(elems)-1] {
		if n = n.kids[e]; n == nil {
			return
		}
	}
	delete(n.kids, elems[len(elems)-1])
}

// pathSet is a set of absolute paths, safe for concurrent use.
type pathSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (s *pathSet) add(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]struct{}{}
	}
	s.m[p] = struct{}{}
}

func (s *pathSet) has(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[p]
	return ok
}

func (s *pathSet) remove(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, p)
}
