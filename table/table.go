package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Target is one TARGET block of the table.
type Target struct {
	Name   string   // [A-Za-z0-9][A-Za-z0-9._-]*, unique in the table (also without regard to case)
	Source Endpoint // where the good copy lives
	Mirror Endpoint // where the copy is kept
	// Dirs are the directories copied, as cleaned relative slash paths
	// (fs.ValidPath, never "."), in table order, none inside another.
	// Empty means the whole root.
	Dirs []string
	Line int // line of the TARGET keyword, from 1
}

// Table is a parsed backup.tab. It keeps the text it was parsed from, line
// by line, so that it can be written back with every comment, blank and
// spelling unchanged.
type Table struct {
	File    string    // the name it was parsed or loaded as; WriteFile writes here
	Targets []*Target // in table order

	lines []string             // the text, each line with its own line ending
	roles map[string]*roleRefs // by target name: where the SOURCE and MIRROR values are
	orig  string               // the text as parsed or last written, for WriteFile
}

// valueRef locates a value in the table text: lines[line][start:end].
type valueRef struct{ line, start, end int }

// roleRefs locates the SOURCE and MIRROR values of one target.
type roleRefs struct{ source, mirror valueRef }

// ParseError is one problem in a table, printed as "file:line: message".
type ParseError struct {
	File string
	Line int // from 1; 0 when the problem is not on one line
	Msg  string
}

// Error returns "file:line: message" ("file: message" when Line is 0).
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrUnknownTarget is wrapped by the error Lookup returns for a name that the
// table does not define.
var ErrUnknownTarget = errors.New("unknown target")

// Load reads file and parses it with Parse. A read error is returned wrapped
// as "backup table: <the os error, which names the file>", or for a missing
// file "no backup table found: <the os error>", which also wraps ErrNoTable;
// errors.Is works on it (fs.ErrNotExist, fs.ErrPermission).
func Load(file string) (*Table, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrNoTable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("backup table: %w", err)
	}
	return Parse(file, data)
}

// Names returns the target names in table order.
func (t *Table) Names() []string {
	names := make([]string, len(t.Targets))
	for i, tg := range t.Targets {
		names[i] = tg.Name
	}
	return names
}

// Lookup returns the target called name (names are matched exactly). For
// any other name it returns an error that wraps ErrUnknownTarget and lists
// the targets the table defines, with a hint when name differs from one of
// them only in case.
func (t *Table) Lookup(name string) (*Target, error) {
	for _, tg := range t.Targets {
		if tg.Name == name {
			return tg, nil
		}
	}
	where, hint, avail := "", "", "none defined"
	if t.File != "" {
		where = " in " + t.File
	}
	for _, tg := range t.Targets {
		if strings.EqualFold(tg.Name, name) {
			hint = fmt.Sprintf(" (did you mean %q?)", tg.Name)
		}
	}
	if len(t.Targets) > 0 {
		avail = strings.Join(t.Names(), ", ")
	}
	return nil, fmt.Errorf("%w %q%s%s; available targets: %s", ErrUnknownTarget, name, where, hint, avail)
}

// Bytes returns the table text. For a table that was not changed it is the
// parsed input, byte for byte; after SwapRoles only the two swapped values
// differ.
func (t *Table) Bytes() []byte {
	return []byte(strings.Join(t.lines, ""))
}

// SwapRoles exchanges the SOURCE and MIRROR of target name, in the text and
// in its Target (the same *Target, its Source and Mirror swapped). Only the
// two value texts trade places: keywords keep their spelling and case, and
// indentation, spacing, comments and every other line stay as they are.
// Swapping twice gives back the original text.
//
// If the swapped table would not parse (a target's new MIRROR would be
// another target's SOURCE, say), SwapRoles returns the parse errors and
// changes nothing.
func (t *Table) SwapRoles(name string) error {
	tg, err := t.Lookup(name)
	if err != nil {
		return err
	}
	refs := t.roles[name]
	if refs == nil {
		return fmt.Errorf("target %q: no SOURCE and MIRROR lines in the table text to swap", name)
	}
	lines := append([]string(nil), t.lines...)
	src, mir := refs.source, refs.mirror
	srcText := lines[src.line][src.start:src.end]
	mirText := lines[mir.line][mir.start:mir.end]
	lines[src.line] = lines[src.line][:src.start] + mirText + lines[src.line][src.end:]
	lines[mir.line] = lines[mir.line][:mir.start] + srcText + lines[mir.line][mir.end:]
	swapped, err := Parse(t.File, []byte(strings.Join(lines, "")))
	if err != nil {
		return fmt.Errorf("swapping SOURCE and MIRROR of %q would make the table invalid: %w", name, err)
	}
	t.lines = lines
	t.roles = swapped.roles
	tg.Source, tg.Mirror = tg.Mirror, tg.Source
	return nil
}
