package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decoder checks the generic TOML document of a settings file key by key
// and collects every problem with its line.
type decoder struct {
	file string
	data []byte
	errs []*SettingsError
}

func (d *decoder) fail(key toml.Key, format string, args ...any) {
	d.errs = append(d.errs, &SettingsError{File: d.file, Line: keyLine(d.data, key), Key: key.String(), Msg: fmt.Sprintf(format, args...)})
}

// table returns v as a table, or nil after reporting that it is not one.
func (d *decoder) table(v any, key toml.Key) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(key, "want a table, got %s", typeName(v))
	}
	return m
}

func (d *decoder) targets(v any, s *Settings) {
	m := d.table(v, toml.Key{"targets"})
	for _, name := range sortedKeys(m) {
		key := toml.Key{"targets", name}
		tm := d.table(m[name], key)
		if tm == nil {
			continue
		}
		var r RunSettings
		d.run(tm, key, &r)
		s.Targets[name] = r
		s.targetLines[name] = keyLine(d.data, key)
	}
}

// run decodes the keys of [defaults] or [targets.<name>].
func (d *decoder) run(m map[string]any, at toml.Key, r *RunSettings) {
	for _, k := range sortedKeys(m) {
		key, v := append(slices.Clone(at), k), m[k]
		switch k {
		case "before":
			r.Before = d.command(key, v)
		case "after":
			r.After = d.command(key, v)
		case "window":
			r.Window = d.duration(key, v, true)
		case "hook_timeout":
			r.HookTimeout = d.duration(key, v, false)
		case "trash_retention":
			r.TrashRetention = d.duration(key, v, false)
		case "lock_stale":
			r.LockStale = d.duration(key, v, false)
		case "max_delete":
			r.MaxDelete = d.maxDelete(key, v)
		case "workers":
			r.Workers = d.workers(key, v)
		case "checksum":
			r.Checksum = d.boolean(key, v)
		case "sparse":
			r.Sparse = d.boolean(key, v)
		case "hard_links":
			r.HardLinks = d.boolean(key, v)
		case "xattrs":
			r.Xattrs = d.boolean(key, v)
		default:
			d.fail(key, "unknown key (want before, after, window, hook_timeout, trash_retention, max_delete, lock_stale, workers, checksum, sparse, hard_links or xattrs)")
		}
	}
}

// ssh decodes the keys of [ssh]; relative paths are taken from dir.
func (d *decoder) ssh(m map[string]any, s *SSHSettings, dir string) {
	for _, k := range sortedKeys(m) {
		key, v := toml.Key{"ssh", k}, m[k]
		switch k {
		case "config":
			s.Config = d.path(key, v, dir)
		case "known_hosts":
			s.KnownHosts = d.path(key, v, dir)
		case "connect_timeout":
			s.ConnectTimeout = d.duration(key, v, false)
		case "keepalive":
			s.KeepAlive = d.duration(key, v, true)
		default:
			d.fail(key, "unknown key (want config, known_hosts, connect_timeout or keepalive)")
		}
	}
}

func (d *decoder) str(key toml.Key, v any, what string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		d.fail(key, "want %s, got %s", what, typeName(v))
		return "", false
	}
	if strings.ContainsRune(s, 0) {
		d.fail(key, "NUL byte in value")
		return "", false
	}
	return s, true
}

// command reads a hook: a shell command; "" means none.
func (d *decoder) command(key toml.Key, v any) *string {
	if s, ok := d.str(key, v, "a shell command (a string)"); ok {
		return &s
	}
	return nil
}

// duration reads a duration string ("20s", "1h30m"); zero is allowed only
// when zeroOK.
func (d *decoder) duration(key toml.Key, v any, zeroOK bool) *time.Duration {
	s, ok := d.str(key, v, `a duration string like "20s" or "5m"`)
	if !ok {
		return nil
	}
	dur, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.fail(key, `%q is not a duration (like "20s", "5m" or "1h30m")`, s)
		return nil
	case dur < 0 || (dur == 0 && !zeroOK):
		d.fail(key, "%q: want a duration above zero", s)
		return nil
	}
	return &dur
}

// maxDelete reads "N%" (0 to 100) or a count N, as a string or an integer.
func (d *decoder) maxDelete(key toml.Key, v any) *string {
	var s string
	switch x := v.(type) {
	case int64:
		s = strconv.FormatInt(x, 10)
	case string:
		s = x
	default:
		d.fail(key, `want a count (100) or a share ("50%%"), got %s`, typeName(v))
		return nil
	}
	if !ValidMaxDelete(s) {
		d.fail(key, `%q: want a count (0 or more) or a share from "0%%" to "100%%"`, s)
		return nil
	}
	return &s
}

// ValidMaxDelete reports whether s is a max-delete limit: a count of files
// (0 or more) or a share of them from 0% to 100%.
func ValidMaxDelete(s string) bool {
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(pct, 64)
		return err == nil && v >= 0 && v <= 100
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0
}

func (d *decoder) workers(key toml.Key, v any) *int {
	n, ok := v.(int64)
	if !ok || n < 1 || n > 1024 {
		d.fail(key, "want a whole number from 1 to 1024, got %s", valueText(v))
		return nil
	}
	w := int(n)
	return &w
}

// path reads a file name: "~/" is the home directory, a relative name is
// relative to dir.
func (d *decoder) path(key toml.Key, v any, dir string) *string {
	s, ok := d.str(key, v, "a file name (a string)")
	if !ok {
		return nil
	}
	if s == "" {
		d.fail(key, "empty file name")
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			s = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(dir, s)
	}
	return &s
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("%T", v)
}

func valueText(v any) string {
	if n, ok := v.(int64); ok {
		return strconv.FormatInt(n, 10)
	}
	return typeName(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lineProbe fails to decode whatever it is given, so that the TOML decoder
// reports the position of the key it sits at.
type lineProbe struct{}

const probeMsg = "mirrorfence: line probe"

func (lineProbe) UnmarshalTOML(any) error { return errors.New(probeMsg) }

// keyLine returns the line on which key is defined in data, 0 when it
// cannot tell. The decoder keeps key positions to itself but puts them in
// its errors: keyLine decodes data into a struct that holds a lineProbe at
// exactly key's path and reads the line of the error.
func keyLine(data []byte, key toml.Key) int {
	t := reflect.TypeFor[lineProbe]()
	for i := len(key) - 1; i >= 0; i-- {
		if strings.ContainsAny(key[i], `,`) {
			return 0 // a struct tag cannot name it
		}
		t = reflect.StructOf([]reflect.StructField{{Name: "F", Type: t, Tag: reflect.StructTag("toml:" + strconv.Quote(key[i]))}})
	}
	_, err := toml.Decode(string(data), reflect.New(t).Interface())
	var pe toml.ParseError
	if errors.As(err, &pe) && pe.Message == probeMsg {
		return pe.Position.Line
	}
	return 0
}

// boolean decodes true or false.
func (d *decoder) boolean(key toml.Key, v any) *bool {
	b, ok := v.(bool)
	if !ok {
		d.fail(key, "want true or false, got %s", typeName(v))
		return nil
	}
	return &b
}
