package table

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Endpoint is where one copy of a target lives: a directory on a host.
//
// Host == "" means this machine. User is the login name of a
// "user@host:/path" endpoint and is kept even when the host turns out to be
// this machine; whether to honour it then is the transport's business.
// An Endpoint made by ParseEndpoint remembers the text it was parsed from,
// so String gives back exactly what the table says.
type Endpoint struct {
	User string // login name, "" when not given
	Host string // host name or alias ("::1" without brackets for IPv6), "" for this machine
	Path string // absolute, path.Clean'ed slash path of the root, never "/"
	text string // as written; "" when the Endpoint was built by hand
}

// hostname returns this machine's name; tests replace it.
var hostname = os.Hostname

// errNotAbs explains the three accepted forms.
var errNotAbs = errors.New("path must be absolute (want host:/path, user@host:/path or /path)")

// ParseEndpoint parses "host:/abs/path", "user@host:/abs/path" or
// "/abs/path". The path must be absolute; it is cleaned with path.Clean and
// must not be the root directory "/" itself. A host that is "localhost" or
// this machine's name (as os.Hostname gives it, full or up to the first
// dot, compared without regard to case) is local: Host becomes "", while
// String still returns s. User names and host names are limited to
// [A-Za-z0-9._-] and must not start with '-' (so they can never be taken for
// an ssh option); an IPv6 address is written in brackets, "[::1]:/path".
// Blanks, control characters and invalid UTF-8 are rejected anywhere in s.
func ParseEndpoint(s string) (Endpoint, error) {
	e, err := parseEndpoint(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: %w", s, err)
	}
	return e, nil
}

// parseEndpoint is ParseEndpoint without the endpoint text in its errors.
func parseEndpoint(s string) (Endpoint, error) {
	if err := checkText(s); err != nil {
		return Endpoint{}, err
	}
	if s == "" {
		return Endpoint{}, errors.New("empty endpoint")
	}
	e := Endpoint{text: s}
	p := s
	if !strings.HasPrefix(s, "/") {
		var err error
		if e.User, e.Host, p, err = splitRemote(s); err != nil {
			return Endpoint{}, err
		}
	}
	if !strings.HasPrefix(p, "/") {
		return Endpoint{}, errNotAbs
	}
	e.Path = path.Clean(p)
	if e.Path == "/" {
		return Endpoint{}, errors.New("path is the root directory /; name the partition's directory")
	}
	if isLocalHost(e.Host) {
		e.Host = ""
	}
	return e, nil
}

// splitRemote splits "[user@]host:path" (host possibly "[ipv6]").
func splitRemote(s string) (user, host, p string, err error) {
	rest := s
	if i := strings.IndexAny(s, "@:["); i >= 0 && s[i] == '@' {
		user, rest = s[:i], s[i+1:]
		if !validName(user) {
			return "", "", "", fmt.Errorf("bad user name %q (want letters, digits, '.', '_' or '-', not starting with '-')", user)
		}
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !strings.HasPrefix(rest[end+1:], ":") {
			return "", "", "", errors.New("bad IPv6 host (want [address]:/path)")
		}
		host, p = rest[1:end], rest[end+2:]
		if !validIPv6(host) {
			return "", "", "", fmt.Errorf("bad IPv6 address %q", host)
		}
		return user, host, p, nil
	}
	host, p, ok := strings.Cut(rest, ":")
	if !ok {
		return "", "", "", errNotAbs
	}
	if !validName(host) || host[0] == '.' {
		return "", "", "", fmt.Errorf("bad host name %q (want letters, digits, '.', '_' or '-', not starting with '-' or '.')", host)
	}
	return user, host, p, nil
}

// validName reports whether s is a non-empty run of [A-Za-z0-9._-] that does
// not start with '-'.
func validName(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validIPv6 reports whether s looks like an IPv6 address: hex digits,
// colons and dots (for an embedded IPv4 part), with at least one colon.
func validIPv6(s string) bool {
	if !strings.Contains(s, ":") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHex(c) && c != ':' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isLocalHost reports whether host names this machine.
func isLocalHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	name, err := hostname()
	if err != nil || name == "" {
		return false
	}
	short, _, _ := strings.Cut(name, ".")
	return strings.EqualFold(host, name) || strings.EqualFold(host, short)
}

// checkText rejects what no token of a table may hold: NUL bytes, other
// control characters, blanks and invalid UTF-8.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	for _, r := range s {
		switch {
		case r == 0:
			return errors.New("NUL byte")
		case r == ' ' || r == '\t':
			return errors.New("blank inside a value")
		case unicode.IsControl(r):
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// String returns the endpoint as written in the table, e.g.
// "uhane:/local/data/elixir". For an Endpoint built by hand it is composed
// from the fields: "[user@]host:path", or just the path when local.
func (e Endpoint) String() string {
	if e.text != "" {
		return e.text
	}
	if e.Host == "" {
		return e.Path
	}
	h := e.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if e.User != "" {
		h = e.User + "@" + h
	}
	return h + ":" + e.Path
}

// IsLocal reports whether the endpoint is on this machine (Host == "").
func (e Endpoint) IsLocal() bool { return e.Host == "" }

// Same reports whether e and o are the same place: the same host (compared
// without regard to case) and the same path. User is not compared: two
// logins reach the same files.
func (e Endpoint) Same(o Endpoint) bool {
	return strings.EqualFold(e.Host, o.Host) && e.Path == o.Path
}

// Within reports whether e is o or lies below it on the same host.
func (e Endpoint) Within(o Endpoint) bool {
	if !strings.EqualFold(e.Host, o.Host) {
		return false
	}
	return e.Path == o.Path || o.Path == "/" || strings.HasPrefix(e.Path, o.Path+"/")
}
