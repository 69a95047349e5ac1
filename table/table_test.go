package table

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseRules checks one rule per case, with the exact error text.
func TestParseRules(t *testing.T) {
	const head = "TARGET t\n SOURCE u:/s\n MIRROR m:/m\n"
	tests := []struct {
		name, in string
		want     string // the error text; "" for success
		dirs     []string
	}{
		{"dirs cleaned", head + " DIR ./a/\n DIR b//c\n DIR x/../y\n", "", []string{"a", "b/c", "y"}},
		{"no dirs", head, "", nil},
		{"keyword case", "tArGeT t\n\tsource u:/s\n MiRrOr m:/m\n Dir d\n", "", []string{"d"}},
		{"no unicode folding", head + " ſource u:/x\n", `f:4: unknown keyword "ſource" (want TARGET, SOURCE, MIRROR or DIR)`, nil},
		{"crlf", strings.ReplaceAll(head+" DIR d\n", "\n", "\r\n"), "", []string{"d"}},
		{"lone cr at eof", head + " DIR d\r", "", []string{"d"}},
		{"cr inside", head + " DIR d\re\n", `f:4: DIR "d\re": control character U+000D`, nil},
		{"form feed is no blank", head + " DIR\fd\n", `f:4: unknown keyword "DIR\fd" (want TARGET, SOURCE, MIRROR or DIR)`, nil},
		{"nbsp is no blank", head + " DIR\u00a0d\n", `f:4: unknown keyword "DIR\u00a0d" (want TARGET, SOURCE, MIRROR or DIR)`, nil},
		{"before target", "DIR d\n" + head, "f:1: DIR before any TARGET", nil},
		{"dir empty via comment", head + " DIR #x\n", "f:4: DIR needs a path relative to the roots", nil},
		{"dir nested reverse", head + " DIR a/b\n DIR a\n", `f:5: DIR "a" contains DIR "a/b" (line 4): it would be copied twice`, nil},
		{"missing both", "TARGET t\nTARGET u\n SOURCE /a\n MIRROR /b\n", "f:1: target \"t\" has no SOURCE\nf:1: target \"t\" has no MIRROR", nil},
		{"same after resolving", "TARGET t\n SOURCE naio:/a\n MIRROR localhost:/a/\n", `f:3: MIRROR "localhost:/a/" is the same place as SOURCE "naio:/a" (line 2)`, nil},
		{"shared source", head + "TARGET t2\n SOURCE u:/s/\n MIRROR n:/m\n",
			`f:5: SOURCE "u:/s/" is the same place as SOURCE "u:/s" of target "t" (line 2); a root belongs to one target only`, nil},
		{"mirror is other source", head + "TARGET t2\n SOURCE x:/s\n MIRROR u:/s\n",
			`f:6: MIRROR "u:/s" is the same place as SOURCE "u:/s" of target "t" (line 2); a root belongs to one target only`, nil},
		{"mirror in other source", head + "TARGET t2\n SOURCE u:/s/sub\n MIRROR u:/s/sub.mirror\n", "", nil},
		{"source in other mirror", head + "TARGET t2\n SOURCE m:/m/x\n MIRROR n:/n\n",
			`f:5: SOURCE "m:/m/x" is inside MIRROR "m:/m" of target "t" (line 3), whose runs would overwrite it`, nil},
		{"root clear of dirs", head + " DIR a\nTARGET t2\n SOURCE m:/m/b\n MIRROR n:/n\n", "", []string{"a"}},
		{"root in a dir", head + " DIR a\nTARGET t2\n SOURCE m:/m/a/x\n MIRROR n:/n\n",
			`f:6: SOURCE "m:/m/a/x" is inside MIRROR "m:/m" DIR "a" of target "t" (line 3), whose runs would overwrite it`, nil},
		{"later mirror covers", "TARGET t2\n SOURCE m:/m/a/x\n MIRROR n:/n\n" + head,
			`f:6: MIRROR "m:/m" would overwrite SOURCE "m:/m/a/x" of target "t2" (line 2)`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Parse("f", []byte(tt.in))
			if tt.want != "" {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("Parse error = %v\nwant %s", err, tt.want)
				}
				if tab != nil {
					t.Errorf("Parse returned a table with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(tab.Targets[0].Dirs, tt.dirs) {
				t.Errorf("Dirs = %q, want %q", tab.Targets[0].Dirs, tt.dirs)
			}
			if !bytes.Equal(tab.Bytes(), []byte(tt.in)) {
				t.Errorf("Bytes() = %q, want %q", tab.Bytes(), tt.in)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	file := filepath.Join(tablesDir, "bad-crlf.tab")
	_, err := Load(file)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != file || pe.Line != 4 {
		t.Fatalf("Load(%s) error = %v, want a ParseError at line 4", file, err)
	}
	if want := file + ":4: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}

	missing := filepath.Join(t.TempDir(), "none.tab")
	_, err = Load(missing)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrNoTable) ||
		err.Error() != "no backup table found: open "+missing+": no such file or directory" {
		t.Errorf("Load(missing) error = %v", err)
	}
	_, err = Load(t.TempDir())
	if err == nil || errors.Is(err, ErrNoTable) || !strings.HasPrefix(err.Error(), "backup table: read ") {
		t.Errorf("Load(directory) error = %v", err)
	}
}

func TestParseErrorString(t *testing.T) {
	if got := (&ParseError{File: "a.tab", Line: 3, Msg: "m"}).Error(); got != "a.tab:3: m" {
		t.Errorf("got %q", got)
	}
	if got := (&ParseError{File: "a.tab", Msg: "m"}).Error(); got != "a.tab: m" {
		t.Errorf("got %q", got)
	}
}

func TestLookup(t *testing.T) {
	tab := mustLoad(t, "multi.tab")
	if tg, err := tab.Lookup("scratch"); err != nil || tg != tab.Targets[2] {
		t.Errorf("Lookup(scratch) = %v, %v", tg, err)
	}
	tests := []struct {
		tab  *Table
		name string
		want string
	}{
		{tab, "nope", `unknown target "nope" in multi.tab; available targets: elixir2, mamane, scratch, home.v6_a-1, home2`},
		{tab, "Scratch", `unknown target "Scratch" in multi.tab (did you mean "scratch"?); available targets: elixir2, mamane, scratch, home.v6_a-1, home2`},
		{mustLoad(t, "empty.tab"), "x", `unknown target "x" in empty.tab; available targets: none defined`},
		{&Table{}, "x", `unknown target "x"; available targets: none defined`},
	}
	for _, tt := range tests {
		tg, err := tt.tab.Lookup(tt.name)
		if tg != nil || !errors.Is(err, ErrUnknownTarget) || err.Error() != tt.want {
			t.Errorf("Lookup(%q) = %v, %v\nwant error %s", tt.name, tg, err, tt.want)
		}
	}
	if got := tab.Names(); !reflect.DeepEqual(got, []string{"elixir2", "mamane", "scratch", "home.v6_a-1", "home2"}) {
		t.Errorf("Names() = %q", got)
	}
}

// mustLoad parses testdata/tables/name, naming it just name.
func mustLoad(t *testing.T, name string) *Table {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tablesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestSwapRoles swaps one target of a good table and compares the text with
// testdata/tables/swapped/TABLE.TARGET.tab.
func TestSwapRoles(t *testing.T) {
	tests := []struct{ table, target string }{
		{"elixir.tab", "elixir"},
		{"multi.tab", "elixir2"},
		{"multi.tab", "scratch"},
		{"multi.tab", "home2"},
		{"crlf.tab", "elixir"},
		{"noeol.tab", "elixir"},
		{"odd-comments.tab", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.table+"/"+tt.target, func(t *testing.T) {
			tab := mustLoad(t, tt.table)
			orig := tab.Bytes()
			tg, _ := tab.Lookup(tt.target)
			src, mir := tg.Source, tg.Mirror
			if err := tab.SwapRoles(tt.target); err != nil {
				t.Fatal(err)
			}
			if tg.Source != mir || tg.Mirror != src {
				t.Errorf("Target not swapped: source %v, mirror %v", tg.Source, tg.Mirror)
			}
			golden(t, filepath.Join(tablesDir, "swapped", strings.TrimSuffix(tt.table, ".tab")+"."+tt.target+".tab"), string(tab.Bytes()))
			again, err := Parse(tt.table, tab.Bytes())
			if err != nil {
				t.Fatalf("swapped table does not parse: %v", err)
			}
			if !reflect.DeepEqual(again.Targets, tab.Targets) {
				t.Errorf("swapped table parses to\n%swant\n%s", dump(again.Targets), dump(tab.Targets))
			}
			if err := tab.SwapRoles(tt.target); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tab.Bytes(), orig) || tg.Source != src || tg.Mirror != mir {
				t.Errorf("swapping twice gave\n%s", tab.Bytes())
			}
		})
	}
}

func TestSwapRolesErrors(t *testing.T) {
	tab := mustLoad(t, "multi.tab")
	orig := tab.Bytes()
	err := tab.SwapRoles("nope")
	if !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("SwapRoles(nope) = %v", err)
	}
	// The SOURCE of mamane holds the MIRROR of elixir2: once swapped,
	// mamane's runs would overwrite it.
	err = tab.SwapRoles("mamane")
	const want = `swapping SOURCE and MIRROR of "mamane" would make the table invalid: ` +
		`multi.tab:13: MIRROR "mamane:/local/data/mamane" would overwrite MIRROR "mamane:/local/data/mamane//elixir2.mirror" of target "elixir2" (line 6)`
	var pe *ParseError
	if err == nil || err.Error() != want || !errors.As(err, &pe) {
		t.Errorf("SwapRoles(home2) = %v\nwant %s", err, want)
	}
	if !bytes.Equal(tab.Bytes(), orig) || tab.Targets[1].Source.String() != "mamane:/local/data/mamane" {
		t.Errorf("failed SwapRoles changed the table")
	}
	hand := &Table{Targets: []*Target{{Name: "x"}}}
	if err := hand.SwapRoles("x"); err == nil {
		t.Errorf("SwapRoles on a table without text succeeded")
	}
}
