package transport_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/sshtest"
	"golang.org/x/crypto/ssh/knownhosts"
)

// configWith returns a copy of the server's ssh_config with every line
// starting with key (after the tab) replaced by "key value".
func configWith(t *testing.T, s *sshtest.Server, key, value string) string {
	t.Helper()
	return rewrite(t, s.Config, key, value)
}

// rewrite writes a copy of ssh_config file cfg with every "key" line set to
// value, and returns its path.
func rewrite(t *testing.T, cfg, key, value string) string {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "\t"+key+" ") {
			lines[i] = "\t" + key + " " + value
		}
	}
	out := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func dialErr(t *testing.T, d *transport.Dialer, host, dir string) error {
	t.Helper()
	fsys, err := d.Dial(context.Background(), table.Endpoint{Host: host, Path: dir})
	if err == nil {
		fsys.Close()
		t.Fatal("Dial succeeded")
	}
	t.Logf("Dial: %v", err)
	var de *transport.DialError
	if !errors.As(err, &de) {
		t.Errorf("error %T is not a *DialError: %v", err, err)
	}
	return err
}

func TestUnknownHostKey(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	dir := t.TempDir()
	for _, strict := range []string{"yes", "no", "ask"} {
		empty := s.WriteFile("known_hosts.empty", "")
		d := &transport.Dialer{SSHConfig: configWith(t, s, "StrictHostKeyChecking", strict), KnownHosts: empty}
		err := dialErr(t, d, "mamane", dir)
		d.Close()
		var he *transport.HostKeyError
		if !errors.Is(err, transport.ErrHostKey) || !errors.As(err, &he) || he.Changed() {
			t.Fatalf("StrictHostKeyChecking %s: %v", strict, err)
		}
		msg := err.Error()
		for _, want := range []string{"unknown host key", s.Host("mamane").IP, empty, "ssh-keyscan"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
		if b, _ := os.ReadFile(empty); len(b) != 0 {
			t.Errorf("known_hosts written: %q", b)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("root written: %v", entries)
	}
}

func TestAcceptNew(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // directory made on demand
	d := &transport.Dialer{SSHConfig: configWith(t, s, "StrictHostKeyChecking", "accept-new"), KnownHosts: kh}
	defer d.Close()
	dial(t, d, "mamane", t.TempDir())
	b, err := os.ReadFile(kh)
	if err != nil || string(b) != s.Host("mamane").KnownHostsLine() {
		t.Fatalf("known_hosts after accept-new: %q, %v; want %q", b, err, s.Host("mamane").KnownHostsLine())
	}
	strict := &transport.Dialer{SSHConfig: s.Config, KnownHosts: kh}
	defer strict.Close()
	dial(t, strict, "mamane", t.TempDir())

	// accept-new never accepts a changed key.
	other := otherKeyLine(t, s.Host("mamane"))
	if err := os.WriteFile(kh, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	d2 := &transport.Dialer{SSHConfig: configWith(t, s, "StrictHostKeyChecking", "accept-new"), KnownHosts: kh}
	defer d2.Close()
	if err := dialErr(t, d2, "mamane", t.TempDir()); !errors.Is(err, transport.ErrHostKey) {
		t.Fatalf("accept-new with a changed key: %v", err)
	}
	if b, _ := os.ReadFile(kh); string(b) != other {
		t.Errorf("known_hosts changed: %q", b)
	}
}

// otherKeyLine is a known_hosts line for h with a key that is not h's.
func otherKeyLine(t *testing.T, h *sshtest.Host) string {
	t.Helper()
	s := sshtest.Start(t, "other")
	return knownhosts.Line([]string{knownhosts.Normalize(h.Addr())}, s.Host("other").HostKey) + "\n"
}

func TestChangedHostKey(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	kh := s.WriteFile("known_hosts.changed", otherKeyLine(t, s.Host("mamane")))
	d := &transport.Dialer{SSHConfig: s.Config, KnownHosts: kh}
	defer d.Close()
	err := dialErr(t, d, "mamane", t.TempDir())
	var he *transport.HostKeyError
	if !errors.As(err, &he) || !he.Changed() || !strings.Contains(err.Error(), "HOST KEY CHANGED") {
		t.Fatalf("changed key: %v", err)
	}
	if !strings.Contains(err.Error(), kh) {
		t.Errorf("message does not name %s: %v", kh, err)
	}
}

func TestWrongUserKey(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	d := &transport.Dialer{SSHConfig: configWith(t, s, "IdentityFile", s.NewKey("stranger"))}
	defer d.Close()
	err := dialErr(t, d, "mamane", t.TempDir())
	if !errors.Is(err, transport.ErrAuth) || !strings.Contains(err.Error(), "stranger") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestMissingRoot(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	d := newDialer(t, s)
	_, err := d.Dial(context.Background(), table.Endpoint{Host: "mamane", Path: "/nonexistent/dir"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing root: %v", err)
	}
}

// hangSlack is how much longer than its configured timeout a step may take
// on a loaded machine before the test calls it a hang: the bounds below
// check that a timeout is applied and that nothing hangs, not how fast the
// machine is.
const hangSlack = 30 * time.Second

// TestDeadHost: a host whose sshd is gone refuses the connection, which
// fails the dial at once (ErrConnect, the refusal named) rather than after
// the connect timeout.
func TestDeadHost(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	s.Host("mamane").Stop()
	const connectTimeout = 3 * time.Second
	d := &transport.Dialer{SSHConfig: s.Config, ConnectTimeout: connectTimeout}
	defer d.Close()
	start := time.Now()
	err := dialErr(t, d, "mamane", t.TempDir())
	took := time.Since(start)
	if !errors.Is(err, transport.ErrConnect) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("stopped host: %v, want ErrConnect for a refused connection", err)
	}
	if took > connectTimeout+hangSlack {
		t.Errorf("stopped host: the dial took %v (connect timeout %v)", took, connectTimeout)
	}
}

// TestHungHost: a host that accepts the connection but never answers fails
// the dial at the configured connect timeout (named in the error, not the
// default of 15s), and a context that ends sooner ends the dial with it.
func TestHungHost(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	h := s.Host("mamane")
	h.Freeze()
	defer h.Thaw()
	const connectTimeout = 2 * time.Second
	d := &transport.Dialer{SSHConfig: s.Config, ConnectTimeout: connectTimeout}
	defer d.Close()
	start := time.Now()
	err := dialErr(t, d, "mamane", t.TempDir())
	took := time.Since(start)
	if !errors.Is(err, transport.ErrConnect) || !contains(err.Error(), "no SSH answer within "+connectTimeout.String()) {
		t.Errorf("hung host: %v, want ErrConnect naming the %v timeout", err, connectTimeout)
	}
	// A handshake that ended before its deadline did not wait for it.
	if took < connectTimeout || took > 2*connectTimeout+hangSlack {
		t.Errorf("hung host: the dial took %v, want the connect timeout %v", took, connectTimeout)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = d.Dial(ctx, table.Endpoint{Host: "mamane", Path: "/"})
	took = time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial with a short context: %v, want the context's end", err)
	}
	if took > connectTimeout+hangSlack {
		t.Errorf("Dial with a short context took %v", took)
	}
}

// endless yields zeros without end.
type endless struct{}

func (endless) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// writeUntilBroken writes an endless stream to a temporary file and runs
// breakIt once 4 MiB went out; the write must fail with ErrConnLost within
// limit (a bound that catches a hang), and so must the rename that would
// have installed the file: nothing appears under the real name. heal (if
// not nil) undoes the break before a new Dial must get a new connection.
func writeUntilBroken(t *testing.T, d *transport.Dialer, breakIt, heal func(), limit time.Duration) {
	dir := t.TempDir()
	fsys := dial(t, d, "mamane", dir)
	w, err := fsys.Create(".backup-tmp-big", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := io.Copy(w, io.MultiReader(io.LimitReader(endless{}, 4<<20), triggerReader{breakIt}, endless{}))
		res <- err
	}()
	select {
	case err := <-res:
		t.Logf("write: %v", err)
		if !errors.Is(err, transport.ErrConnLost) {
			t.Fatalf("write error %v does not wrap ErrConnLost", err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != ".backup-tmp-big" {
			t.Errorf("write error %#v is not a PathError for the file", err)
		}
	case <-time.After(limit):
		t.Fatalf("write still running %v after the connection broke", limit)
	}
	w.Close()
	if _, err := fsys.Lstat("."); !errors.Is(err, transport.ErrConnLost) {
		t.Errorf("Lstat after the break: %v", err)
	}
	if err := fsys.Rename(".backup-tmp-big", "big"); !errors.Is(err, transport.ErrConnLost) {
		t.Errorf("Rename after the break: %v, want ErrConnLost", err)
	}
	if heal != nil {
		heal()
	}
	// What is on the disk: at most the temporary, never the real name.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != ".backup-tmp-big" {
			t.Errorf("after the break the directory holds %q", e.Name())
		}
	}
	fsys2 := dial(t, d, "mamane", dir) // a new Dial gets a new connection
	if _, err := fsys2.ReadDir("."); err != nil {
		t.Errorf("after reconnecting: %v", err)
	}
}

// triggerReader runs fn at its first Read and yields nothing.
type triggerReader struct{ fn func() }

func (r triggerReader) Read([]byte) (int, error) {
	r.fn()
	return 0, io.EOF
}

func TestConnectionCutDuringWrite(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	d := newDialer(t, s)
	writeUntilBroken(t, d, s.Host("mamane").CutConnections, nil, hangSlack)
}

func TestHostHangsDuringWrite(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	h := s.Host("mamane")
	// Three unanswered keepalives 300ms apart count the connection lost:
	// the write fails about 1s after the freeze; the host stays frozen
	// until then, so nothing but the keepalive can end the write.
	const keepAlive, keepAliveMax = 300 * time.Millisecond, 3
	d := &transport.Dialer{SSHConfig: s.Config, KeepAlive: keepAlive, KeepAliveMax: keepAliveMax}
	defer d.Close()
	defer h.Thaw()
	writeUntilBroken(t, d, h.Freeze, h.Thaw, (keepAliveMax+1)*keepAlive+hangSlack)
}

func TestRunConnectionLost(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	d := newDialer(t, s)
	fsys := dial(t, d, "mamane", t.TempDir())
	time.AfterFunc(500*time.Millisecond, s.Host("mamane").CutConnections)
	err := fsys.(transport.Runner).Run(context.Background(), "sleep 20", io.Discard, io.Discard)
	t.Logf("Run: %v", err)
	if !errors.Is(err, transport.ErrConnLost) {
		t.Errorf("Run: %v does not wrap ErrConnLost", err)
	}
}
