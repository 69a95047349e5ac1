package sshtest

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

func sshRun(t *testing.T, s *Server, host, command string) (string, error) {
	t.Helper()
	ssh := testenv.LookPath(t, "ssh", "the ssh client (install openssh-client)")
	out, err := exec.Command(ssh, "-F", s.Config, host, command).CombinedOutput()
	return string(out), err
}

func TestHostsByName(t *testing.T) {
	s := Start(t, "uhane", "mamane")
	a, b := s.Host("uhane"), s.Host("mamane")
	if a.IP == b.IP {
		t.Fatalf("hosts share address %s", a.IP)
	}
	for _, h := range []string{"uhane", "mamane"} {
		out, err := sshRun(t, s, h, "echo hello; pwd")
		if err != nil {
			t.Fatalf("ssh %s: %v: %s", h, err, out)
		}
		if !strings.HasPrefix(out, "hello\n") {
			t.Fatalf("ssh %s printed %q", h, out)
		}
	}
}

func TestStopAndRestart(t *testing.T) {
	s := Start(t)
	h := s.Host("sshtest")
	h.Stop()
	if c, err := net.DialTimeout("tcp", h.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("stopped host still accepts")
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, s, "sshtest", "true"); err != nil {
		t.Fatalf("after restart: %v: %s", err, out)
	}
}

func TestCutConnections(t *testing.T) {
	s := Start(t)
	h := s.Host("sshtest")
	ssh := testenv.LookPath(t, "ssh", "the ssh client (install openssh-client)")
	cmd := exec.Command(ssh, "-F", s.Config, "sshtest", "sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	h.CutConnections()
	err := cmd.Wait()
	if err == nil {
		t.Fatal("ssh survived the cut")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cut took %v", d)
	}
	if out, err := sshRun(t, s, "sshtest", "true"); err != nil {
		t.Fatalf("after cut: %v: %s", err, out)
	}
}

// TestPermUnprivilegedHost: as a user without root privileges (the
// unprivileged pass), sshd runs as that user and logs that user in, so the
// permission cases can be tested over SSH too.
func TestPermUnprivilegedHost(t *testing.T) {
	testenv.Unprivileged(t)
	s := Start(t, "uhane")
	out, err := sshRun(t, s, "uhane", "id -u")
	if err != nil {
		t.Fatalf("ssh as %s: %v: %s", s.User, err, out)
	}
	if want := strconv.Itoa(os.Getuid()) + "\n"; !strings.HasSuffix(out, want) {
		t.Fatalf("session runs as %q, want uid %s", out, want)
	}
}
