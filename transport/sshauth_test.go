package transport_test

import (
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/sshtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// startAgent serves an ssh-agent holding the server's user key on a unix
// socket and points SSH_AUTH_SOCK at it.
func startAgent(t *testing.T, s *sshtest.Server) {
	b, err := os.ReadFile(s.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func TestAgentAuth(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	startAgent(t, s)
	missing := filepath.Join(t.TempDir(), "id_missing")

	// Any agent key when IdentitiesOnly is off.
	cfg := configWith(t, s, "IdentitiesOnly", "no")
	cfg = rewrite(t, cfg, "IdentityFile", missing)
	d := &transport.Dialer{SSHConfig: cfg}
	defer d.Close()
	dial(t, d, "mamane", t.TempDir())

	// IdentitiesOnly: only agent keys named by an IdentityFile (here by
	// its .pub, the private key being elsewhere).
	d2 := &transport.Dialer{SSHConfig: rewrite(t, s.Config, "IdentityFile", missing)}
	defer d2.Close()
	if err := dialErr(t, d2, "mamane", t.TempDir()); !errors.Is(err, transport.ErrAuth) {
		t.Fatalf("IdentitiesOnly with an unknown agent key: %v", err)
	}
	pub, err := os.ReadFile(s.IdentityFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(missing+".pub", pub, 0o644); err != nil {
		t.Fatal(err)
	}
	d3 := &transport.Dialer{SSHConfig: rewrite(t, s.Config, "IdentityFile", missing)}
	defer d3.Close()
	dial(t, d3, "mamane", t.TempDir())
}

func TestEncryptedKeyNeedsAgent(t *testing.T) {
	s := sshtest.Start(t, "mamane")
	b, err := os.ReadFile(s.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(*key.(*ed25519.PrivateKey), "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	enc := s.WriteFile("id_encrypted", string(pem.EncodeToMemory(block)))
	cfg := rewrite(t, s.Config, "IdentityFile", enc)
	t.Setenv("SSH_AUTH_SOCK", "")
	d := &transport.Dialer{SSHConfig: cfg}
	defer d.Close()
	err = dialErr(t, d, "mamane", t.TempDir())
	if !errors.Is(err, transport.ErrAuth) || !contains(err.Error(), "passphrase") {
		t.Fatalf("encrypted key without agent: %v", err)
	}
	startAgent(t, s)
	d2 := &transport.Dialer{SSHConfig: cfg}
	defer d2.Close()
	dial(t, d2, "mamane", t.TempDir())
}
