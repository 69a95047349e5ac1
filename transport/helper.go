package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// ErrNoHelper reports that "backup serve" could not be started on the
// remote host, or is not this build (see Dialer.Helper).
var ErrNoHelper = errors.New("remote helper not available")

// helperSession is one "backup serve ROOT" running on the remote host,
// speaking package wire on the session's standard input and output.
// Requests from many goroutines are in flight together; one goroutine
// reads the answers and hands each to its caller.
type helperSession struct {
	c      *sshConn     // nil for NewHelperFS
	s      *ssh.Session // nil for NewHelperFS
	stdin  io.WriteCloser
	w      *wire.Writer
	stderr *tailBuffer

	root    string // the root's canonical path on the host
	program string // the helper's build
	resolve string // how it resolves names: "openat2" or "openat"

	mu    sync.Mutex
	calls map[uint32]*call
	next  uint32
	err   error         // set when the session ended
	dead  chan struct{} // closed then
	slot  sync.Once     // gives back the session slot
	close sync.Once
}

// call is one request waiting for its answer.
type call struct {
	done    chan struct{}
	items   func(*wire.Dec) error // for RepItem frames, on the reading goroutine
	itemErr error
	payload []byte
	err     error
}

// startHelper runs command ("backup", or the helper's path) as
// "command serve -- root" on c and waits, within ctx, for its hello. The
// session holds one of the connection's session slots while it lives.
func startHelper(ctx context.Context, c *sshConn, command, root string) (*helperSession, error) {
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.dead:
		return nil, c.lost(errors.New("closed"))
	}
	h := newSession(c)
	s, err := c.ssh.NewSession()
	if err != nil {
		h.giveBack()
		return nil, c.classify(err)
	}
	h.s = s
	s.Stderr = h.stderr
	stdout, err1 := s.StdoutPipe()
	stdin, err2 := s.StdinPipe()
	if err := errors.Join(err1, err2); err != nil {
		h.shut()
		return nil, c.classify(err)
	}
	h.stdin, h.w = stdin, wire.NewWriter(stdin)
	line := "exec " + remoteCommand(command) + " serve -- " + shellQuote(root)
	if err := s.Start(c.shell(line)); err != nil {
		h.shut()
		return nil, c.classify(err)
	}
	if err := h.begin(ctx, stdout); err != nil {
		return nil, err
	}
	return h, nil
}

func newSession(c *sshConn) *helperSession {
	return &helperSession{c: c, calls: map[uint32]*call{}, dead: make(chan struct{}), stderr: &tailBuffer{max: 4 << 10}}
}

// begin waits, within ctx, for the helper's hello on stdout, then reads
// the answers in a goroutine of its own.
func (h *helperSession) begin(ctx context.Context, stdout io.Reader) error {
	br := bufio.NewReaderSize(stdout, 256<<10)
	hello := make(chan error, 1)
	go func() { hello <- h.readHello(br) }()
	var err error
	select {
	case err = <-hello:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		h.shut()
		return err
	}
	go h.readLoop(br)
	return nil
}

// NewHelperFS returns the FS served by a helper ("backup serve", see
// package serve) at the other end of r and w, named label in messages:
// for a helper reached by other means than the Dialer's SSH connections,
// and for tests over a pipe. It waits for the helper's hello; Close
// closes w, which ends the helper. Run is not supported.
func NewHelperFS(ctx context.Context, label string, r io.Reader, w io.WriteCloser) (FS, error) {
	h := newSession(nil)
	h.stdin, h.w = w, wire.NewWriter(w)
	if err := h.begin(ctx, r); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return &helperFS{h: h, label: label}, nil
}

// remoteCommand quotes the helper's command for the login shell; a
// leading "~/" is the remote home.
func remoteCommand(command string) string {
	if strings.HasPrefix(command, "~/") {
		return `"$HOME"` + shellQuote(command[1:])
	}
	return shellQuote(command)
}

// readHello reads the helper's first frame: its hello, or the error that
// kept it from opening the root.
func (h *helperSession) readHello(br *bufio.Reader) error {
	f, err := wire.ReadFrame(br)
	if err != nil {
		// The shell's complaint ("backup: not found") is all there is to
		// say; the session's end makes sure it has all arrived.
		if h.s != nil {
			ended := make(chan struct{})
			go func() { _ = h.s.Wait(); close(ended) }()
			select {
			case <-ended:
			case <-time.After(2 * time.Second):
			}
		}
		msg := strings.TrimSpace(h.stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%w: %s", ErrNoHelper, msg)
	}
	d := &wire.Dec{B: f.Payload}
	switch f.Op {
	case wire.RepErr:
		return wire.DecodeError(d) // the root cannot be opened
	case wire.OpHello:
	default:
		return fmt.Errorf("%w: unexpected first frame %#x", ErrNoHelper, f.Op)
	}
	version := d.Uint()
	h.program, h.root, h.resolve = d.String(), d.String(), d.String()
	switch {
	case d.Err != nil:
		return fmt.Errorf("%w: bad hello: %v", ErrNoHelper, d.Err)
	case version != wire.Version || h.program != wire.Program():
		return fmt.Errorf("%w: the remote backup is %s (protocol %d), this is %s (protocol %d)",
			ErrNoHelper, h.program, version, wire.Program(), wire.Version)
	}
	return nil
}

// readLoop hands each answer to its caller until the session ends.
func (h *helperSession) readLoop(br *bufio.Reader) {
	for {
		f, err := wire.ReadFrame(br)
		if err != nil {
			h.fail(err)
			return
		}
		h.mu.Lock()
		c := h.calls[f.ID]
		if c != nil && f.Op != wire.RepItem {
			delete(h.calls, f.ID)
		}
		h.mu.Unlock()
		if c == nil {
			h.fail(fmt.Errorf("%w: answer to no request (%d)", wire.ErrFrame, f.ID))
			return
		}
		switch f.Op {
		case wire.RepItem:
			if c.items != nil && c.itemErr == nil {
				c.itemErr = c.items(&wire.Dec{B: f.Payload})
			}
			continue
		case wire.RepOK:
			c.payload = f.Payload
		case wire.RepErr:
			c.err = wire.DecodeError(&wire.Dec{B: f.Payload})
		default:
			c.err = fmt.Errorf("%w: op %#x", wire.ErrFrame, f.Op)
		}
		close(c.done)
	}
}

// fail ends the session: every waiting caller gets a lost connection.
func (h *helperSession) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		if msg := strings.TrimSpace(h.stderr.String()); msg != "" {
			err = fmt.Errorf("%w (helper: %s)", err, msg)
		}
		h.err = h.lost(err)
		close(h.dead)
	}
	calls := h.calls
	h.calls = map[uint32]*call{}
	h.mu.Unlock()
	for _, c := range calls {
		c.err = h.err
		close(c.done)
	}
	h.shut()
}

// shut closes the session and gives its slot back.
func (h *helperSession) shut() {
	h.close.Do(func() {
		if h.stdin != nil {
			h.stdin.Close() // the helper reads EOF and ends
		}
		if h.s != nil {
			h.s.Close()
		}
	})
	h.giveBack()
}

func (h *helperSession) giveBack() {
	if h.c != nil {
		h.slot.Do(func() { <-h.c.sessions })
	}
}

// lost wraps err as a lost connection.
func (h *helperSession) lost(err error) error {
	if h.c != nil {
		return h.c.lost(err)
	}
	return &connLost{host: "helper", cause: err}
}

// start sends a request whose payload is the concatenation of parts and
// returns without waiting for the answer.
func (h *helperSession) start(op byte, items func(*wire.Dec) error, parts ...[]byte) *call {
	c := &call{done: make(chan struct{}), items: items}
	h.mu.Lock()
	if h.err != nil {
		c.err = h.err
		h.mu.Unlock()
		close(c.done)
		return c
	}
	h.next++
	if h.next == 0 {
		h.next = 1 // 0 is the hello's
	}
	id := h.next
	h.calls[id] = c
	h.mu.Unlock()
	if err := h.w.Send(id, op, parts...); err != nil {
		h.fail(err)
	}
	return c
}

// wait returns the answer of c.
func (c *call) wait() ([]byte, error) {
	<-c.done
	if c.err == nil && c.itemErr != nil {
		return nil, c.itemErr
	}
	return c.payload, c.err
}

// do sends a request and waits for its answer.
func (h *helperSession) do(op byte, parts ...[]byte) ([]byte, error) {
	return h.start(op, nil, parts...).wait()
}

// tailBuffer keeps the first max bytes written to it, for messages.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
