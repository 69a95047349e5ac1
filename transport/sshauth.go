package transport

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// ErrAuth reports that the host refused the login with every key offered.
var ErrAuth = errors.New("login refused")

// authKeys is what can be offered to a host: signers in the order OpenSSH
// would offer them, and notes for the error message when all fail.
type authKeys struct {
	signers []ssh.Signer
	tried   []string // "agent: 2 keys", "/root/.ssh/id_ed25519", ...
	skipped []string // "/root/.ssh/id_rsa (passphrase, not in the agent)"
	agent   net.Conn // closed after the handshake
}

func (a *authKeys) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// summary describes what was offered, for the login-refused message.
func (a *authKeys) summary() string {
	var b strings.Builder
	if len(a.tried) == 0 {
		b.WriteString("no key to offer (no agent, no readable identity file)")
	} else {
		b.WriteString("offered " + strings.Join(a.tried, ", "))
	}
	if len(a.skipped) > 0 {
		b.WriteString("; skipped " + strings.Join(a.skipped, ", "))
	}
	return b.String()
}

// loadAuthKeys gathers the keys of the ssh-agent and of the identity files.
// Agent keys that match an identity file come first, then the other agent
// keys (unless IdentitiesOnly), then identity files the agent lacks.
// Missing identity files are skipped silently, encrypted ones (there is
// nobody to ask for a passphrase) with a note.
func loadAuthKeys(hc *hostConfig) *authKeys {
	a := &authKeys{}
	var agentSigners []ssh.Signer
	if hc.IdentityAgent != "" {
		if c, err := net.Dial("unix", hc.IdentityAgent); err == nil {
			a.agent = c
			agentSigners, _ = agent.NewClient(c).Signers()
		} else {
			a.skipped = append(a.skipped, "agent "+hc.IdentityAgent+" ("+err.Error()+")")
		}
	}
	var filePubs []ssh.PublicKey
	var fileSigners []ssh.Signer
	for _, f := range hc.IdentityFiles {
		s, pub, note := readIdentity(f)
		if note != "" {
			a.skipped = append(a.skipped, f+" ("+note+")")
		}
		if pub != nil {
			filePubs = append(filePubs, pub)
		}
		if s != nil {
			fileSigners = append(fileSigners, s)
			a.tried = append(a.tried, f)
		}
	}
	var first, rest []ssh.Signer
	for _, s := range agentSigners {
		if containsKey(filePubs, s.PublicKey()) {
			first = append(first, s)
		} else if !hc.IdentitiesOnly {
			rest = append(rest, s)
		}
	}
	if n := len(first) + len(rest); n > 0 {
		a.tried = append([]string{fmt.Sprintf("%d agent key(s)", n)}, a.tried...)
	}
	a.signers = append(append(first, rest...), withoutKeys(fileSigners, first)...)
	return a
}

// readIdentity reads a private key file. It returns the signer when the key
// is usable, the public key when known (from the key or the .pub beside
// it), and a note when the file exists but cannot be used.
func readIdentity(file string) (ssh.Signer, ssh.PublicKey, string) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, readPublicKey(file + ".pub"), "" // the agent may hold it
	}
	if err != nil {
		return nil, nil, err.Error()
	}
	s, err := ssh.ParsePrivateKey(b)
	if err == nil {
		return s, s.PublicKey(), ""
	}
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		pub := pm.PublicKey
		if pub == nil {
			pub = readPublicKey(file + ".pub")
		}
		return nil, pub, "passphrase-protected; add it to ssh-agent"
	}
	return nil, readPublicKey(file + ".pub"), err.Error()
}

func readPublicKey(file string) ssh.PublicKey {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil
	}
	return k
}

func containsKey(keys []ssh.PublicKey, k ssh.PublicKey) bool {
	for _, x := range keys {
		if bytes.Equal(x.Marshal(), k.Marshal()) {
			return true
		}
	}
	return false
}

func withoutKeys(signers, drop []ssh.Signer) []ssh.Signer {
	var pubs []ssh.PublicKey
	for _, d := range drop {
		pubs = append(pubs, d.PublicKey())
	}
	var out []ssh.Signer
	for _, s := range signers {
		if !containsKey(pubs, s.PublicKey()) {
			out = append(out, s)
		}
	}
	return out
}
