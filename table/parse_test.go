package table

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/tables")

// tablesDir holds the test tables: NAME.tab with NAME.targets (what a good
// table parses to) or, for bad-*.tab, NAME.err (the error text).
const tablesDir = "../testdata/tables"

// testHost is the machine name the tests pretend to run on.
const testHost = "naio.ifa.hawaii.edu"

func TestMain(m *testing.M) {
	hostname = func() (string, error) { return testHost, nil }
	os.Exit(m.Run())
}

// TestSeedExample parses the example of the seed, copied verbatim.
func TestSeedExample(t *testing.T) {
	file := filepath.Join(tablesDir, "elixir.tab")
	tab, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []*Target{{
		Name:   "elixir",
		Source: Endpoint{Host: "uhane", Path: "/local/data/elixir", text: "uhane:/local/data/elixir"},
		Mirror: Endpoint{Host: "mamane", Path: "/local/data/mamane/elixir.mirror", text: "mamane:/local/data/mamane/elixir.mirror"},
		Dirs:   []string{"detrend", "tests"},
		Line:   2,
	}}
	if !reflect.DeepEqual(tab.Targets, want) {
		t.Errorf("Targets = %s, want %s", dump(tab.Targets), dump(want))
	}
	if tab.File != file {
		t.Errorf("File = %q, want %q", tab.File, file)
	}
	tg, err := tab.Lookup("elixir")
	if err != nil || tg != tab.Targets[0] {
		t.Fatalf("Lookup(elixir) = %v, %v", tg, err)
	}
	if s, m := tg.Source.String(), tg.Mirror.String(); s != "uhane:/local/data/elixir" || m != "mamane:/local/data/mamane/elixir.mirror" {
		t.Errorf("String() = %q, %q", s, m)
	}
	data, _ := os.ReadFile(file)
	if !bytes.Equal(tab.Bytes(), data) {
		t.Errorf("Bytes() = %q, want %q", tab.Bytes(), data)
	}
}

// TestGolden parses every table under testdata/tables: good ones must parse
// to their .targets golden and reproduce their input; bad-* ones must fail
// with their .err golden, every error a *ParseError of that file.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(tablesDir, "*.tab"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tables in %s: %v", tablesDir, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".tab"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := Parse(name, data)
			bad := strings.HasPrefix(name, "bad-")
			switch {
			case bad && err == nil:
				t.Fatalf("Parse succeeded; want errors")
			case !bad && err != nil:
				t.Fatalf("Parse: %v", err)
			case bad:
				checkParseErrors(t, err, name, bytes.Count(data, []byte("\n"))+1)
				golden(t, strings.TrimSuffix(file, ".tab")+".err", err.Error()+"\n")
			default:
				if got := tab.Bytes(); !bytes.Equal(got, data) {
					t.Errorf("Bytes() = %q, want the input %q", got, data)
				}
				golden(t, strings.TrimSuffix(file, ".tab")+".targets", dump(tab.Targets))
			}
		})
	}
}

// checkParseErrors asserts that err joins *ParseError values of file, each
// on a line in 1..maxLine, in line order, and printed "file:line: msg".
func checkParseErrors(t *testing.T, err error, file string, maxLine int) {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not a joined error", err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Errorf("errors.As(*ParseError) failed")
	}
	last := 0
	for _, e := range joined.Unwrap() {
		if !errors.As(e, &pe) {
			t.Fatalf("error %q is a %T, not a *ParseError", e, e)
		}
		if pe.File != file || pe.Line < 1 || pe.Line > maxLine || pe.Line < last || pe.Msg == "" {
			t.Errorf("bad ParseError %+v (file %q, lines 1..%d, previous line %d)", pe, file, maxLine, last)
		}
		if prefix := fmt.Sprintf("%s:%d: ", file, pe.Line); !strings.HasPrefix(e.Error(), prefix) {
			t.Errorf("error %q does not start with %q", e, prefix)
		}
		last = pe.Line
	}
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./table -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("mismatch with %s (run with -update to accept)\n--- got\n%s--- want\n%s", file, got, want)
	}
}

// dump prints targets, all fields, for goldens and messages.
func dump(targets []*Target) string {
	if len(targets) == 0 {
		return "no targets\n"
	}
	var b strings.Builder
	for _, tg := range targets {
		fmt.Fprintf(&b, "target %q line %d\n", tg.Name, tg.Line)
		for _, r := range []struct {
			kw string
			e  Endpoint
		}{{"source", tg.Source}, {"mirror", tg.Mirror}} {
			fmt.Fprintf(&b, "  %s %q user=%q host=%q path=%q local=%v\n",
				r.kw, r.e.String(), r.e.User, r.e.Host, r.e.Path, r.e.IsLocal())
		}
		for _, d := range tg.Dirs {
			fmt.Fprintf(&b, "  dir %q\n", d)
		}
	}
	return b.String()
}
