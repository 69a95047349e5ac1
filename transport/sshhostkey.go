package transport

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey reports that a host's key could not be verified against
// known_hosts: unknown, changed or revoked. Such a connection is never used.
// Test with errors.Is; the details are in a *HostKeyError.
var ErrHostKey = errors.New("host key verification failed")

// HostKeyError says why a host key was refused. It matches ErrHostKey.
type HostKeyError struct {
	Host       string                // the host as looked up in known_hosts, e.g. "[127.0.0.2]:2222"
	KnownHosts []string              // the known_hosts files consulted (the first one takes new keys)
	Key        ssh.PublicKey         // the key the server offered
	Known      []knownhosts.KnownKey // keys known_hosts holds for the host; empty when unknown
	Revoked    bool                  // the key is marked @revoked

	note string // about the StrictHostKeyChecking setting
}

// Is makes errors.Is(err, ErrHostKey) true.
func (e *HostKeyError) Is(target error) bool { return target == ErrHostKey }

// Changed reports whether known_hosts holds other keys for the host.
func (e *HostKeyError) Changed() bool { return len(e.Known) > 0 && !e.Revoked }

func (e *HostKeyError) Error() string {
	return e.message() + e.note
}

func (e *HostKeyError) message() string {
	offered := keyText(e.Key)
	file := "~/.ssh/known_hosts"
	if len(e.KnownHosts) > 0 {
		file = e.KnownHosts[0]
	}
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key of %s (%s) is marked @revoked in known_hosts; refusing to connect", e.Host, offered)
	case len(e.Known) == 0:
		host, port := splitLookup(e.Host)
		return fmt.Sprintf("unknown host key for %s (%s): it is not in %s. "+
			"Check the fingerprint with the host's administrator, then add it, e.g. with "+
			"\"ssh-keyscan -p %s %s >> %s\", or by connecting once with "+
			"\"ssh -o StrictHostKeyChecking=accept-new\"",
			e.Host, offered, strings.Join(e.KnownHosts, ", "), port, host, file)
	default:
		k := e.Known[0]
		return fmt.Sprintf("HOST KEY CHANGED for %s: the server offers %s, but %s line %d holds %s. "+
			"Someone could be intercepting the connection, or the host was reinstalled; "+
			"if the change is expected, remove the old key with \"ssh-keygen -R '%s' -f %s\" and add the new one",
			e.Host, offered, k.Filename, k.Line, keyText(k.Key), e.Host, k.Filename)
	}
}

func keyText(k ssh.PublicKey) string {
	if k == nil {
		return "no key"
	}
	return k.Type() + " key " + ssh.FingerprintSHA256(k)
}

// splitLookup splits a known_hosts host ("[h]:p" or "h") into host and port.
func splitLookup(s string) (host, port string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return strings.Trim(h, "[]"), p
	}
	return s, "22"
}

// knownHostsMu serialises appends to known_hosts files (accept-new).
var knownHostsMu sync.Mutex

// hostKeyChecker verifies host keys of one host against known_hosts.
type hostKeyChecker struct {
	hc     *hostConfig
	lookup string   // "host:port" as known_hosts names the host
	files  []string // every file consulted, user files first
}

func newHostKeyChecker(hc *hostConfig, lookup string) *hostKeyChecker {
	files := append(slices.Clone(hc.KnownHosts), hc.GlobalKnown...)
	return &hostKeyChecker{hc: hc, lookup: lookup, files: files}
}

// callback builds a knownhosts callback over the files that exist; nil
// when none exists (every key is then unknown).
func (k *hostKeyChecker) callback() (ssh.HostKeyCallback, error) {
	var existing []string
	for _, f := range k.files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	if len(existing) == 0 {
		return nil, nil
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	return cb, nil
}

var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	k, _ := ssh.NewPublicKey(pub)
	return k
})

// loopback is a placeholder remote address for known_hosts look-ups.
var loopback = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}

// algorithms returns the host key algorithms to ask for: the types
// known_hosts holds for this host first, so that the server shows the key
// we can verify, then every other supported one.
func (k *hostKeyChecker) algorithms() []string {
	var out []string
	if cb, err := k.callback(); err == nil && cb != nil {
		var ke *knownhosts.KeyError
		if errors.As(cb(k.lookup, loopback, probeKey()), &ke) {
			for _, w := range ke.Want {
				out = append(out, algorithmsFor(w.Key.Type())...)
			}
		}
	}
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return slices.Compact(out)
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{keyType}
}

// check is the ssh.HostKeyCallback: the key must be in known_hosts; with
// StrictHostKeyChecking accept-new, the key of a host known_hosts does not
// mention at all is appended to the first user file and accepted.
func (k *hostKeyChecker) check(_ string, _ net.Addr, key ssh.PublicKey) error {
	err := k.verify(key)
	var he *HostKeyError
	if k.hc.Strict != "accept-new" || !errors.As(err, &he) || len(he.Known) > 0 || he.Revoked {
		return err
	}
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := k.verify(key); !errors.As(err, &he) || len(he.Known) > 0 || he.Revoked {
		return err // added meanwhile, or now conflicting
	}
	return k.add(key)
}

// verify returns nil for a known key, a *HostKeyError for an unknown,
// changed or revoked one, and another error when known_hosts is unreadable.
func (k *hostKeyChecker) verify(key ssh.PublicKey) error {
	he := &HostKeyError{Host: knownhosts.Normalize(k.lookup), KnownHosts: k.files, Key: key}
	if a := k.hc.StrictAsked; a == "no" || a == "off" || a == "ask" {
		he.note = " (StrictHostKeyChecking " + a + " is taken as yes: host keys are always verified)"
	}
	cb, err := k.callback()
	if err != nil {
		return err
	}
	if cb == nil {
		return he
	}
	err = cb(k.lookup, loopback, key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		he.Revoked, he.Known = true, []knownhosts.KnownKey{re.Revoked}
		return he
	case errors.As(err, &ke):
		he.Known = ke.Want
		return he
	}
	return err
}

// add appends key for the host to the first user known_hosts file.
func (k *hostKeyChecker) add(key ssh.PublicKey) error {
	if len(k.hc.KnownHosts) == 0 {
		return errors.New("accept-new: no known_hosts file to add the key to")
	}
	file := k.hc.KnownHosts[0]
	host := knownhosts.Normalize(k.lookup)
	if k.hc.HashKnownHosts {
		host = knownhosts.HashHostname(host)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("accept-new: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("accept-new: %w", err)
	}
	line := knownhosts.Line([]string{host}, key) + "\n"
	if st, err := f.Stat(); err == nil && st.Size() > 0 && !endsWithNewline(file, st.Size()) {
		line = "\n" + line
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("accept-new: adding the host key to %s: %w", file, err)
	}
	return nil
}

func endsWithNewline(file string, size int64) bool {
	f, err := os.Open(file)
	if err != nil {
		return true
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}
