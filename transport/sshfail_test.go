package transport_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

func TestDeadHost(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	s.Host("mamane").Stop()
	d := &transport.Dialer{SSHConfig: s.Config, ConnectTimeout: 3 * time.Second}
	defer d.Close()
	start := time.Now()
	err := dialErr(t, d, "mamane", t.TempDir())
	if !errors.Is(err, transport.ErrConnect) || time.Since(start) > 4*time.Second {
		t.Fatalf("stopped host: %v after %v", err, time.Since(start))
	}
}

func TestHungHost(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	h := s.Host("mamane")
	h.Freeze()
	defer h.Thaw()
	d := &transport.Dialer{SSHConfig: s.Config, ConnectTimeout: 2 * time.Second}
	defer d.Close()
	start := time.Now()
	err := dialErr(t, d, "mamane", t.TempDir())
	if !errors.Is(err, transport.ErrConnect) || time.Since(start) > 4*time.Second {
		t.Fatalf("hung host: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := d.Dial(ctx, table.Endpoint{Host: "mamane", Path: "/"}); err == nil || time.Since(start) > time.Second {
		t.Fatalf("Dial with a short context: %v after %v", err, time.Since(start))
	}
}

// endless yields zeros without end.
type endless struct{}

func (endless) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// writeUntilBroken writes an endless stream to a new file and runs breakIt
// once 4 MiB went out; the write must fail with ErrConnLost within limit.
func writeUntilBroken(t *testing.T, d *transport.Dialer, breakIt func(), limit time.Duration) {
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
	if _, err := os.Stat(filepath.Join(dir, "big")); err == nil {
		t.Errorf("a file appeared under a real name")
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
	writeUntilBroken(t, d, s.Host("mamane").CutConnections, 10*time.Second)
}

func TestHostHangsDuringWrite(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	h := s.Host("mamane")
	d := &transport.Dialer{SSHConfig: s.Config, KeepAlive: 300 * time.Millisecond, KeepAliveMax: 3}
	defer d.Close()
	writeUntilBroken(t, d, func() {
		h.Freeze()
		time.AfterFunc(5*time.Second, h.Thaw)
	}, 4*time.Second)
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
