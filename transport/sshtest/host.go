package sshtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host is one sshd. Its methods are safe for concurrent use.
type Host struct {
	Name    string        // the host name of the ssh_config Host block
	IP      string        // 127.0.0.x
	Port    int           // the port sshd listens on
	HostKey ssh.PublicKey // the host's ed25519 key

	t       testing.TB
	sshd    string
	config  string
	logFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
}

// Addr returns "127.0.0.x:port".
func (h *Host) Addr() string { return net.JoinHostPort(h.IP, strconv.Itoa(h.Port)) }

// KnownHostsLine returns the known_hosts line for the host, newline ended.
func (h *Host) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(h.Addr())}, h.HostKey) + "\n"
}

func newHost(t testing.TB, s *Server, name, sshd string, env map[string]string) *Host {
	t.Helper()
	dir := filepath.Join(s.Dir, "host-"+sanitize(name))
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	keyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	signer := newKey(t, keyFile)
	h := &Host{
		Name: name, IP: allocIP(), HostKey: signer.PublicKey(), t: t, sshd: sshd,
		config: filepath.Join(dir, "sshd_config"), logFile: filepath.Join(dir, "sshd.log"),
	}
	var lastErr error
	for range 5 { // a free port may be taken between probing and binding
		port, err := freePort(h.IP)
		if err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		h.Port = port
		h.writeConfig(t, keyFile, s.authorizedKeys(), env)
		if lastErr = h.Start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("sshtest: starting sshd for %s: %v\n%s", name, lastErr, h.log())
	}
	t.Cleanup(func() {
		h.Stop()
		if t.Failed() {
			if l := h.log(); l != "" {
				t.Logf("sshd log of %s (%s):\n%s", name, h.Addr(), l)
			}
		}
	})
	return h
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, name)
}

func (h *Host) writeConfig(t testing.TB, keyFile, authKeys string, env map[string]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "ListenAddress %s\n", h.Addr())
	fmt.Fprintf(&b, "HostKey %s\n", keyFile)
	fmt.Fprintf(&b, "AuthorizedKeysFile %s\n", authKeys)
	b.WriteString(`PidFile none
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100
MaxSessions 10
ClientAliveInterval 0
LogLevel ERROR
Subsystem sftp internal-sftp
`)
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// sshd honours only the first SetEnv line: all variables go on one.
	if len(keys) > 0 {
		b.WriteString("SetEnv")
		for _, k := range keys {
			fmt.Fprintf(&b, " %q", k+"="+env[k])
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(h.config, []byte(b.String()), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// Start starts (or restarts, after Stop) the host's sshd, with the same
// address and host key, and returns when it accepts connections.
func (h *Host) Start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		return errors.New("already running")
	}
	logf, err := os.OpenFile(h.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(h.sshd, "-D", "-e", "-f", h.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	if err := waitListening(h.Addr(), done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return err
	}
	h.cmd, h.done = cmd, done
	return nil
}

func waitListening(addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("sshd exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd does not accept on %s", addr)
}

// Stop kills the host's sshd and every session it serves, as if the host
// died: established connections break, new ones are refused. It is a no-op
// when the host is stopped.
func (h *Host) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return
	}
	h.signalAll(syscall.SIGKILL, true)
	<-h.done
	h.cmd, h.done = nil, nil
}

// CutConnections kills the sessions the host's sshd serves, so every
// established connection breaks at once, while sshd keeps accepting new
// ones.
func (h *Host) CutConnections() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		h.signalAll(syscall.SIGKILL, false)
	}
}

// Freeze stops (SIGSTOP) the host's sshd and its sessions: the host hangs,
// connections stay open and new ones are accepted by the kernel but never
// answered, as with a host that froze or a network that black-holes.
func (h *Host) Freeze() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		h.signalAll(syscall.SIGSTOP, true)
	}
}

// Thaw undoes Freeze.
func (h *Host) Thaw() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		h.signalAll(syscall.SIGCONT, true)
	}
}

// signalAll sends sig to the sessions of the sshd (its descendants) and,
// when withListener, to sshd itself. Sessions get their own process groups,
// so they are found through /proc. The caller holds h.mu.
func (h *Host) signalAll(sig syscall.Signal, withListener bool) {
	pid := h.cmd.Process.Pid
	if withListener && sig != syscall.SIGCONT {
		_ = syscall.Kill(pid, sig) // first, so it forks no new session meanwhile
	}
	for _, p := range descendants(pid) {
		_ = syscall.Kill(p, sig)
	}
	if withListener && sig == syscall.SIGCONT {
		_ = syscall.Kill(pid, sig)
	}
}

// descendants lists the processes below pid, parents before children.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf reads the parent pid from /proc/<pid>/stat, whose second field
// (the command name, in parentheses) may hold spaces.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

func (h *Host) log() string {
	b, _ := os.ReadFile(h.logFile)
	return string(b)
}

// Log returns what sshd logged so far (LogLevel ERROR).
func (h *Host) Log() string { return h.log() }
