package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// shellQuote quotes s for a POSIX shell: single quotes, with each single
// quote written as '\”. Any byte but NUL survives, newlines included.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runScript runs the command "$1" so that it can be stopped whole: the
// shell is a process group leader (sshd makes every session one), the
// command runs in its group, and when the session's standard input ends
// (the client closes it on cancel) or a TERM arrives, the watcher kills the
// group. Signals alone do not do: sshd refuses them for root logins.
const runScript = `trap 'trap - TERM; kill -TERM 0' TERM
exec 3<&0
/bin/sh -c "$1" </dev/null 3<&- &
c=$!
{ cat <&3; kill -TERM 0; } >/dev/null 2>&1 &
w=$!
exec 3<&-
wait "$c"; s=$?
kill "$w" 2>/dev/null
exit "$s"`

// Run runs command with /bin/sh -c on the endpoint's host, in the root
// directory, through the login shell (which must be a POSIX shell). When
// ctx ends first, every process of the command is killed (SIGTERM to its
// process group), the session is closed after at most two seconds, and Run
// returns ctx's error. A command that fails gives an *ssh.ExitError; a
// broken connection an error wrapping ErrConnLost. The command's standard
// input is /dev/null.
func (f *sftpFS) Run(ctx context.Context, command string, stdout, stderr io.Writer) error {
	line := "cd -- " + shellQuote(f.root) + " && exec /bin/sh -c " + shellQuote(runScript) +
		" sh " + shellQuote(command)
	err := f.c.exec(ctx, f.c.shell(line), stdout, stderr)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// shell prefixes line with the Dialer's RemotePath, for the login shell.
func (c *sshConn) shell(line string) string {
	if c.remotePath == "" {
		return line
	}
	var dirs []string
	for _, d := range strings.Split(c.remotePath, ":") {
		if d == "~" || strings.HasPrefix(d, "~/") {
			dirs = append(dirs, `"$HOME"`+shellQuote(d[1:]))
		} else {
			dirs = append(dirs, shellQuote(d))
		}
	}
	return "PATH=" + strings.Join(dirs, ":") + `:"$PATH"; export PATH; ` + line
}

// exec runs line in a new session (at most 8 at a time per connection;
// sshd allows 10). On ctx's end it closes the session's standard input,
// signals TERM, and closes the session after two seconds.
func (c *sshConn) exec(ctx context.Context, line string, stdout, stderr io.Writer) error {
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.dead:
		return c.lost(errors.New("closed"))
	}
	defer func() { <-c.sessions }()
	s, err := c.ssh.NewSession()
	if err != nil {
		return c.classify(err)
	}
	defer s.Close()
	s.Stdout, s.Stderr = stdout, stderr
	stdin, err := s.StdinPipe()
	if err != nil {
		return c.classify(err)
	}
	if err := s.Start(line); err != nil {
		return c.classify(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		return c.execErr(err)
	case <-ctx.Done():
		stdin.Close()
		_ = s.Signal(ssh.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			s.Close()
			<-done
		}
		return ctx.Err()
	}
}

// execErr keeps an exit status as it is and classifies the rest; a
// session that ended without exit status (sshd sends one even for a
// command killed by a signal) was cut.
func (c *sshConn) execErr(err error) error {
	var ee *ssh.ExitError
	var em *ssh.ExitMissingError
	switch {
	case err == nil || errors.As(err, &ee):
		return err
	case errors.As(err, &em):
		return c.lost(err)
	}
	return c.classify(err)
}

// output runs line and returns its standard output; stderr is kept for the
// error.
func (c *sshConn) output(line string) ([]byte, error) {
	var out, errb bytes.Buffer
	err := c.exec(context.Background(), c.shell(line), &out, &errb)
	if err != nil && errb.Len() > 0 {
		err = &execError{err: err, stderr: strings.TrimSpace(errb.String())}
	}
	return out.Bytes(), err
}

type execError struct {
	err    error
	stderr string
}

func (e *execError) Error() string { return e.err.Error() + ": " + e.stderr }
func (e *execError) Unwrap() error { return e.err }
