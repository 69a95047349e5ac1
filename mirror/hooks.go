package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// DefaultHookTimeout is how long a hook may run when ShellHooks.Timeout
// is zero.
const DefaultHookTimeout = 5 * time.Minute

// ShellHooks are Hooks that run shell commands on the host of an endpoint
// (the target's SOURCE, where the application lives), with the endpoint's
// root as working directory, through its transport.Runner: locally with
// /bin/sh, remotely over SSH.
//
// Each line a hook writes, on stdout or stderr, is logged at Info level with
// the attributes hook ("before" or "after"), stream and host. A hook that
// exits non-zero, cannot be started, or outlasts Timeout (it is then killed,
// with every process it started) returns an error that names the hook and
// the endpoint and ends with the last lines of its output.
type ShellHooks struct {
	Runner        transport.Runner
	Where         string        // the endpoint, for messages and the log
	BeforeCommand string        // "" runs nothing
	AfterCommand  string        // "" runs nothing
	Timeout       time.Duration // per hook; 0 means DefaultHookTimeout
	Log           *slog.Logger  // nil discards the output
}

// NewShellHooks returns the hooks of a target whose SOURCE is fsys, or
// nil when both commands are empty. It fails when fsys cannot run commands.
func NewShellHooks(fsys transport.FS, before, after string, timeout time.Duration, log *slog.Logger) (*ShellHooks, error) {
	if before == "" && after == "" {
		return nil, nil
	}
	r, ok := fsys.(transport.Runner)
	if !ok {
		return nil, fmt.Errorf("%s cannot run hook commands", fsys)
	}
	return &ShellHooks{Runner: r, Where: fsys.String(), BeforeCommand: before, AfterCommand: after, Timeout: timeout, Log: log}, nil
}

// Before runs BeforeCommand.
func (h *ShellHooks) Before(ctx context.Context) error { return h.run(ctx, "before", h.BeforeCommand) }

// After runs AfterCommand.
func (h *ShellHooks) After(ctx context.Context) error { return h.run(ctx, "after", h.AfterCommand) }

// tailLines is how many lines of a failed hook's output its error quotes.
const tailLines = 5

func (h *ShellHooks) run(ctx context.Context, name, command string) error {
	if command == "" {
		return nil
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("hook", name, "host", h.Where)
	tail := &tailBuffer{max: tailLines}
	stdout := &lineLogger{log: log, stream: "stdout", tail: tail}
	stderr := &lineLogger{log: log, stream: "stderr", tail: tail}
	log.Info("running hook", "command", command)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	err := h.Runner.Run(hctx, command, stdout, stderr)
	stdout.flush()
	stderr.flush()
	switch {
	case err == nil:
		log.Info("hook done", "took", time.Since(began).Round(time.Millisecond).String())
		return nil
	case ctx.Err() != nil:
		err = fmt.Errorf("%s hook on %s stopped: %w", name, h.Where, ctx.Err())
	case errors.Is(hctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("%s hook on %s timed out after %s and was killed", name, h.Where, timeout)
	default:
		err = fmt.Errorf("%s hook on %s failed: %w", name, h.Where, exitStatus(err))
	}
	if t := tail.String(); t != "" {
		err = fmt.Errorf("%w; its last output:\n%s", err, t)
	}
	return err
}

// exitError is an exit status the same way for every Runner.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return fmt.Sprintf("exited with status %d", e.code) }
func (e *exitError) Unwrap() error { return e.err }

// exitStatus turns the exit status of a command (*exec.ExitError locally,
// *ssh.ExitError over SSH) into an *exitError; other errors stay as they
// are.
func exitStatus(err error) error {
	var code interface{ ExitCode() int }
	var status interface{ ExitStatus() int }
	switch {
	case errors.As(err, &code) && code.ExitCode() >= 0:
		return &exitError{code: code.ExitCode(), err: err}
	case errors.As(err, &status):
		return &exitError{code: status.ExitStatus(), err: err}
	}
	return err
}

// lineLogger logs each complete line written to it.
type lineLogger struct {
	log    *slog.Logger
	stream string
	tail   *tailBuffer
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a line without end: log it in pieces
		l.emit(string(l.buf))
		l.buf = nil
	}
	return len(p), nil
}

// flush logs what is left after the last newline.
func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(string(l.buf))
		l.buf = nil
	}
}

func (l *lineLogger) emit(line string) {
	line = strings.TrimRight(line, "\r")
	l.log.Info(line, "stream", l.stream)
	l.tail.add(line)
}

// tailBuffer keeps the last max lines of both streams.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for i, l := range t.lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("    " + l)
	}
	return b.String()
}
