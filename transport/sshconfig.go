package transport

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// hostConfig is what ssh_config says about one host, resolved the way
// OpenSSH resolves it: the first value found wins, IdentityFile accumulates,
// %-tokens and ~ are expanded.
type hostConfig struct {
	Alias          string   // the host as written in the endpoint
	HostName       string   // the name or address to connect to
	Port           string   // "22" unless the config says otherwise
	User           string   // the login name
	IdentityFiles  []string // private keys to offer, existing or not
	IdentitiesOnly bool     // offer only agent keys that match IdentityFiles
	IdentityAgent  string   // agent socket; "" none
	KnownHosts     []string // user known_hosts files; the first takes new keys
	GlobalKnown    []string // system known_hosts files
	HostKeyAlias   string   // name to look up in known_hosts instead of HostName
	Strict         string   // "yes" or "accept-new"
	StrictAsked    string   // the value the config gave, for messages
	HashKnownHosts bool     // write new known_hosts lines hashed
	ConnectTimeout time.Duration
	AliveInterval  time.Duration
	AliveCountMax  int
}

// sshConfigs is the user's (or the given) ssh_config followed by the system
// one; a value from the first one that has it wins.
type sshConfigs struct {
	files []*ssh_config.Config
}

// loadSSHConfig reads path, or ~/.ssh/config and /etc/ssh/ssh_config when
// path is "". A missing file is fine. A file that cannot be parsed is an
// error, except the system file, which is skipped (it may use Match
// criteria the parser does not know, as some distributions do).
func loadSSHConfig(path string) (*sshConfigs, error) {
	cs := &sshConfigs{}
	explicit := path != ""
	if !explicit {
		path = filepath.Join(homeDir(), ".ssh", "config")
	}
	c, err := parseSSHConfig(path)
	if err != nil {
		return nil, err
	}
	if c != nil {
		cs.files = append(cs.files, c)
	}
	if !explicit {
		if c, err := parseSSHConfig("/etc/ssh/ssh_config"); err == nil && c != nil {
			cs.files = append(cs.files, c)
		}
	}
	return cs, nil
}

func parseSSHConfig(path string) (*ssh_config.Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	c, err := ssh_config.DecodeBytes(b)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return c, nil
}

// get returns the first value of key for alias, or "".
func (cs *sshConfigs) get(alias, key string) string {
	for _, c := range cs.files {
		if v, err := c.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

// getAll returns every value of key for alias, in order.
func (cs *sshConfigs) getAll(alias, key string) []string {
	var out []string
	for _, c := range cs.files {
		if v, err := c.GetAll(alias, key); err == nil {
			out = append(out, v...)
		}
	}
	return out
}

func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// resolve works out the settings for endpoint host alias with login user
// (from the endpoint; "" lets the config or the local user name decide).
func (cs *sshConfigs) resolve(alias, login string) (*hostConfig, error) {
	hc := &hostConfig{Alias: alias, Port: "22", AliveCountMax: 3}
	hc.HostName = strings.ReplaceAll(cs.get(alias, "HostName"), "%h", alias)
	if hc.HostName == "" {
		hc.HostName = alias
	}
	if p := cs.get(alias, "Port"); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("ssh config: host %s: bad Port %q", alias, p)
		}
		hc.Port = p
	}
	hc.User = login
	if hc.User == "" {
		hc.User = cs.get(alias, "User")
	}
	if hc.User == "" {
		hc.User = localUser()
	}
	for _, k := range []string{"ProxyJump", "ProxyCommand"} {
		if v := cs.get(alias, k); v != "" && !strings.EqualFold(v, "none") {
			return nil, fmt.Errorf("ssh config: host %s: %s is not supported; reach the host directly or through a VPN", alias, k)
		}
	}
	if err := cs.resolveKeys(hc); err != nil {
		return nil, err
	}
	if err := cs.resolveHostKeys(hc); err != nil {
		return nil, err
	}
	return hc, cs.resolveTimes(hc)
}

func (cs *sshConfigs) resolveKeys(hc *hostConfig) error {
	files := cs.getAll(hc.Alias, "IdentityFile")
	if len(files) == 0 {
		files = []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}
	}
	for _, f := range files {
		if strings.EqualFold(f, "none") {
			continue
		}
		p, err := hc.expand(f)
		if err != nil {
			return err
		}
		hc.IdentityFiles = append(hc.IdentityFiles, p)
	}
	hc.IdentitiesOnly = yes(cs.get(hc.Alias, "IdentitiesOnly"))
	hc.IdentityAgent = os.Getenv("SSH_AUTH_SOCK")
	switch a := cs.get(hc.Alias, "IdentityAgent"); {
	case a == "" || a == "SSH_AUTH_SOCK":
	case strings.EqualFold(a, "none"):
		hc.IdentityAgent = ""
	case strings.HasPrefix(a, "$"):
		hc.IdentityAgent = os.Getenv(strings.TrimPrefix(a, "$"))
	default:
		p, err := hc.expand(a)
		if err != nil {
			return err
		}
		hc.IdentityAgent = p
	}
	return nil
}

func (cs *sshConfigs) resolveHostKeys(hc *hostConfig) error {
	user := strings.Fields(cs.get(hc.Alias, "UserKnownHostsFile"))
	if len(user) == 0 {
		user = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	global := strings.Fields(cs.get(hc.Alias, "GlobalKnownHostsFile"))
	if len(global) == 0 {
		global = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	for _, f := range user {
		p, err := hc.expand(f)
		if err != nil {
			return err
		}
		hc.KnownHosts = append(hc.KnownHosts, p)
	}
	for _, f := range global {
		p, err := hc.expand(f)
		if err != nil {
			return err
		}
		hc.GlobalKnown = append(hc.GlobalKnown, p)
	}
	hc.HostKeyAlias = cs.get(hc.Alias, "HostKeyAlias")
	hc.HashKnownHosts = yes(cs.get(hc.Alias, "HashKnownHosts"))
	hc.StrictAsked = strings.ToLower(cs.get(hc.Alias, "StrictHostKeyChecking"))
	switch hc.StrictAsked {
	case "accept-new":
		hc.Strict = "accept-new"
	default:
		// "yes", "ask" (nobody to ask) and also "no"/"off": this tool never
		// accepts an unknown or changed host key without a known_hosts line.
		hc.Strict = "yes"
	}
	return nil
}

func (cs *sshConfigs) resolveTimes(hc *hostConfig) error {
	for _, kv := range []struct {
		key string
		dst *time.Duration
	}{{"ConnectTimeout", &hc.ConnectTimeout}, {"ServerAliveInterval", &hc.AliveInterval}} {
		if v := cs.get(hc.Alias, kv.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("ssh config: host %s: bad %s %q", hc.Alias, kv.key, v)
			}
			*kv.dst = time.Duration(n) * time.Second
		}
	}
	if v := cs.get(hc.Alias, "ServerAliveCountMax"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("ssh config: host %s: bad ServerAliveCountMax %q", hc.Alias, v)
		}
		hc.AliveCountMax = n
	}
	return nil
}

func yes(v string) bool { return strings.EqualFold(v, "yes") || strings.EqualFold(v, "true") }

// expand replaces a leading ~ and the %-tokens OpenSSH knows in file names:
// %% %d (home) %h (host name) %n (alias) %p (port) %r (remote user)
// %u (local user) %l (this host's name).
func (hc *hostConfig) expand(s string) (string, error) {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = homeDir() + s[1:]
	}
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("ssh config: %q ends in %%", s)
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(homeDir())
		case 'h':
			b.WriteString(hc.HostName)
		case 'n':
			b.WriteString(hc.Alias)
		case 'p':
			b.WriteString(hc.Port)
		case 'r':
			b.WriteString(hc.User)
		case 'u':
			b.WriteString(localUser())
		case 'l':
			h, _ := os.Hostname()
			b.WriteString(h)
		default:
			return "", fmt.Errorf("ssh config: unknown token %%%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}
