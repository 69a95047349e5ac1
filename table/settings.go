package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Settings is the optional settings file, backup.toml:
//
//	[defaults]                 # every target
//	hook_timeout = "5m"
//	max_delete   = "50%"       # or a count: max_delete = 100
//
//	[targets.elixir]           # one target; its keys override [defaults]
//	before = "srvmsg -c -n desksrv freeze 20"
//	window = "20s"
//
//	[ssh]
//	config          = "/etc/backup/ssh_config"
//	known_hosts     = "/etc/backup/known_hosts"
//	connect_timeout = "15s"
//	keepalive       = "15s"   # "0s" turns keepalives off
//
// Keys of [defaults] and [targets.<name>] are those of RunSettings; keys of
// [ssh] those of SSHSettings. An unknown table or key, a value of the wrong
// type, or an invalid value is a *SettingsError naming the file, the line
// and the key. A nil field was not given.
type Settings struct {
	File     string                 // the file read; "" when there was none
	Defaults RunSettings            // [defaults]
	Targets  map[string]RunSettings // [targets.<name>], by name
	SSH      SSHSettings            // [ssh]

	targetLines map[string]int // line of each [targets.<name>]
}

// RunSettings are the settings of runs, per target or as defaults.
type RunSettings struct {
	Before         *string        // before: shell command run on the source host before the copy
	After          *string        // after: shell command run there after it, even when it failed
	Window         *time.Duration // window: the freeze window the copy must fit in; 0 = none
	HookTimeout    *time.Duration // hook_timeout: how long a hook may run before it is killed
	TrashRetention *time.Duration // trash_retention: how long the trash keeps a run's files
	MaxDelete      *string        // max_delete: "N" files or "N%" of them, checked to parse
	LockStale      *time.Duration // lock_stale: age after which another host's lock is stale
	Workers        *int           // workers: concurrent transfers, 1 to 1024
	Checksum       *bool          // checksum: compare content by BLAKE3
	Sparse         *bool          // sparse: leave runs of zeros as holes in copies (default true)
	HardLinks      *bool          // hard_links: keep hard links as hard links (default true)
	Xattrs         *bool          // xattrs: keep extended attributes and POSIX ACLs (default true)
}

// SSHSettings are the [ssh] table. Relative paths are relative to the
// directory of the settings file; "~/" is the home directory.
type SSHSettings struct {
	Config         *string        // config: ssh_config file
	KnownHosts     *string        // known_hosts: known_hosts file
	ConnectTimeout *time.Duration // connect_timeout: TCP connect plus handshake
	KeepAlive      *time.Duration // keepalive: interval of keepalives; 0 = none
}

// SettingsError is a mistake in the settings file: "file:line: key: msg".
type SettingsError struct {
	File string
	Line int    // from 1; 0 when unknown
	Key  string // the dotted key, e.g. "targets.elixir.window"; may be ""
	Msg  string
}

func (e *SettingsError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Places FindSettings looks at after the flag and the environment.
var (
	localSettings  = "backup.toml"
	systemSettings = "/etc/backup.toml"
)

// FindSettings returns the path of the settings file to use: flagValue
// (--config) if non-empty, else $BACKUP_CONFIG if set, else ./backup.toml
// or /etc/backup.toml if one exists, else "" (no settings: all defaults).
// The first two are returned even if missing, so that LoadSettings
// reports the file the user named.
func FindSettings(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("BACKUP_CONFIG"); env != "" {
		return env
	}
	for _, p := range []string{localSettings, systemSettings} {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
	return ""
}

// LoadSettings reads and parses the settings file at path; "" gives empty
// Settings. A file that cannot be read is a *SettingsError.
func LoadSettings(path string) (*Settings, error) {
	if path == "" {
		return &Settings{Targets: map[string]RunSettings{}}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &SettingsError{File: path, Msg: err.Error()}
	}
	return ParseSettings(path, data)
}

// ParseSettings parses the text of a settings file; file names it in
// errors and anchors relative paths. Every problem is reported, each a
// *SettingsError, joined and in line order.
func ParseSettings(file string, data []byte) (*Settings, error) {
	s := &Settings{File: file, Targets: map[string]RunSettings{}, targetLines: map[string]int{}}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &SettingsError{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		}
		return nil, &SettingsError{File: file, Msg: err.Error()}
	}
	d := &decoder{file: file, data: data}
	for _, top := range sortedKeys(doc) {
		switch top {
		case "defaults":
			if m := d.table(doc[top], toml.Key{top}); m != nil {
				d.run(m, toml.Key{top}, &s.Defaults)
			}
		case "targets":
			d.targets(doc[top], s)
		case "ssh":
			if m := d.table(doc[top], toml.Key{top}); m != nil {
				d.ssh(m, &s.SSH, filepath.Dir(file))
			}
		default:
			d.fail(toml.Key{top}, "unknown table or key (want [defaults], [targets.<name>] or [ssh])")
		}
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *SettingsError) int { return a.Line - b.Line })
		errs := make([]error, len(d.errs))
		for i, e := range d.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// For returns the settings of a target's runs: the defaults, with each key
// the target's table gives overriding them.
func (s *Settings) For(target string) RunSettings {
	r := s.Defaults
	t, ok := s.Targets[target]
	if !ok {
		return r
	}
	r.Before = pick(t.Before, r.Before)
	r.After = pick(t.After, r.After)
	r.Window = pick(t.Window, r.Window)
	r.HookTimeout = pick(t.HookTimeout, r.HookTimeout)
	r.TrashRetention = pick(t.TrashRetention, r.TrashRetention)
	r.MaxDelete = pick(t.MaxDelete, r.MaxDelete)
	r.LockStale = pick(t.LockStale, r.LockStale)
	r.Workers = pick(t.Workers, r.Workers)
	r.Checksum = pick(t.Checksum, r.Checksum)
	r.Sparse = pick(t.Sparse, r.Sparse)
	r.HardLinks = pick(t.HardLinks, r.HardLinks)
	r.Xattrs = pick(t.Xattrs, r.Xattrs)
	return r
}

func pick[T any](first, second *T) *T {
	if first != nil {
		return first
	}
	return second
}

// CheckTargets reports every [targets.<name>] whose name is not one of
// names (the table's targets): a misspelt name would silently drop that
// target's hooks.
func (s *Settings) CheckTargets(names []string) error {
	var errs []error
	for _, name := range sortedKeys(s.Targets) {
		if !slices.Contains(names, name) {
			errs = append(errs, &SettingsError{File: s.File, Line: s.targetLines[name], Key: "targets." + name,
				Msg: fmt.Sprintf("no such target in the table (targets: %s)", strings.Join(names, ", "))})
		}
	}
	return errors.Join(errs...)
}
