// Package sshtest starts real OpenSSH sshd servers for tests, the way
// net/http/httptest starts HTTP servers: one sshd per host name, each on its
// own loopback address (127.0.0.2, 127.0.0.3, ...) and a free port, with a
// fresh ed25519 host key, a fresh user key and an ssh_config file that makes
// the host names work for this package's Dialer and for the ssh and rsync
// commands alike ("ssh -F <Config> uhane").
//
// Everything lives in a t.TempDir and is stopped by t.Cleanup; the sshd log
// (LogLevel ERROR) is printed when the test failed.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// Server is a set of sshd hosts started by Start. Its fields are read-only.
type Server struct {
	Dir          string // temporary directory holding keys, configs and logs
	Config       string // ssh_config with a Host block per host name
	KnownHosts   string // known_hosts listing every host's key
	IdentityFile string // the user's private key (ed25519, no passphrase)
	User         string // the login user (the current user)

	UserKey ssh.Signer // the signer of IdentityFile

	t     testing.TB
	hosts map[string]*Host
	order []string
}

// Options adjust Start. The zero value gives one host named "sshtest".
type Options struct {
	// Hosts are the host names, each served by its own sshd.
	Hosts []string
	// Env is set in every session (sshd SetEnv, all on one line, the only
	// one sshd honours; it may override PATH and HOME too). SHLVL is 1
	// unless set here: bash, the usual login shell, then
	// skips ~/.bashrc (which it reads for commands run by sshd at level 1),
	// so the real user's start-up files neither print nor slow sessions.
	Env map[string]string
}

var (
	addrMu   sync.Mutex
	nextAddr = 2 // the x of the next 127.0.0.x
)

// allocIP hands out 127.0.0.2 ... 127.0.0.254 in turn, process-wide, so that
// hosts of one test differ by address.
func allocIP() string {
	addrMu.Lock()
	defer addrMu.Unlock()
	ip := fmt.Sprintf("127.0.0.%d", nextAddr)
	nextAddr++
	if nextAddr > 254 {
		nextAddr = 2
	}
	return ip
}

// Start starts one sshd per host name (one host named "sshtest" when none
// is given) and returns when every one accepts connections. When no sshd
// can be found it skips the test, or fails it when the environment variable
// CI is "true".
func Start(t testing.TB, hosts ...string) *Server {
	t.Helper()
	return StartWith(t, Options{Hosts: hosts})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opt Options) *Server {
	t.Helper()
	sshd := findSSHD(t)
	if len(opt.Hosts) == 0 {
		opt.Hosts = []string{"sshtest"}
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil && os.Geteuid() == 0 {
		t.Fatalf("sshtest: privilege separation directory: %v", err)
	}
	s := &Server{Dir: t.TempDir(), t: t, hosts: map[string]*Host{}}
	s.User = currentUser(t)
	env := map[string]string{"SHLVL": "1"}
	for k, v := range opt.Env {
		env[k] = v
	}

	s.writeUserKey(t)
	for _, name := range opt.Hosts {
		if _, dup := s.hosts[name]; dup {
			t.Fatalf("sshtest: host %q given twice", name)
		}
		h := newHost(t, s, name, sshd, env)
		s.hosts[name] = h
		s.order = append(s.order, name)
	}
	s.writeClientFiles(t)
	return s
}

func findSSHD(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sshd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/sshd"); serr == nil {
			p, err = "/usr/sbin/sshd", nil
		}
	}
	testenv.Require(t, "sshd (install openssh-server)", err)
	abs, err := filepath.Abs(p) // sshd re-executes itself and wants an absolute path
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return abs
}

func currentUser(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current user: %v", err)
	}
	return u.Username
}

// newKey makes an ed25519 key and writes the private key in OpenSSH format
// to file, mode 0600.
func newKey(t testing.TB, file string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return signer
}

func (s *Server) writeUserKey(t testing.TB) {
	s.IdentityFile = filepath.Join(s.Dir, "id_ed25519")
	s.UserKey = newKey(t, s.IdentityFile)
	pub := ssh.MarshalAuthorizedKey(s.UserKey.PublicKey())
	if err := os.WriteFile(s.IdentityFile+".pub", pub, 0o644); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(s.authorizedKeys(), pub, 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

func (s *Server) authorizedKeys() string { return filepath.Join(s.Dir, "authorized_keys") }

// writeClientFiles writes the ssh_config and the known_hosts file.
func (s *Server) writeClientFiles(t testing.TB) {
	s.Config = filepath.Join(s.Dir, "ssh_config")
	s.KnownHosts = filepath.Join(s.Dir, "known_hosts")
	var cfg, kh strings.Builder
	for _, name := range s.order {
		h := s.hosts[name]
		fmt.Fprintf(&cfg, "Host %s\n", name)
		fmt.Fprintf(&cfg, "\tHostName %s\n\tPort %d\n\tUser %s\n", h.IP, h.Port, s.User)
		fmt.Fprintf(&cfg, "\tIdentityFile %s\n\tIdentitiesOnly yes\n", s.IdentityFile)
		fmt.Fprintf(&cfg, "\tUserKnownHostsFile %s\n\tGlobalKnownHostsFile /dev/null\n", s.KnownHosts)
		fmt.Fprintf(&cfg, "\tStrictHostKeyChecking yes\n\tBatchMode yes\n\tLogLevel ERROR\n\n")
		kh.WriteString(h.KnownHostsLine())
	}
	if err := os.WriteFile(s.Config, []byte(cfg.String()), 0o644); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(s.KnownHosts, []byte(kh.String()), 0o644); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// Host returns the host called name; it fails the test for an unknown name.
func (s *Server) Host(name string) *Host {
	h, ok := s.hosts[name]
	if !ok {
		s.t.Fatalf("sshtest: no host %q", name)
	}
	return h
}

// Hosts returns the host names in the order given to Start.
func (s *Server) Hosts() []string { return append([]string(nil), s.order...) }

// SSHCommand returns the ssh command line that reaches the hosts by name,
// e.g. for "rsync -e".
func (s *Server) SSHCommand() string { return "ssh -F " + s.Config }

// WriteFile writes content to a new file in the server's directory and
// returns its path; a helper for tests that need a variant of Config or
// KnownHosts.
func (s *Server) WriteFile(name, content string) string {
	p := filepath.Join(s.Dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		s.t.Fatalf("sshtest: %v", err)
	}
	return p
}

// NewKey makes a fresh ed25519 key pair in the server's directory (name and
// name.pub) that is NOT authorized on the hosts, and returns the path of
// the private key.
func (s *Server) NewKey(name string) string {
	p := filepath.Join(s.Dir, name)
	k := newKey(s.t, p)
	if err := os.WriteFile(p+".pub", ssh.MarshalAuthorizedKey(k.PublicKey()), 0o644); err != nil {
		s.t.Fatalf("sshtest: %v", err)
	}
	return p
}

// freePort returns a port on ip that was free a moment ago.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
