package table

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks, for any input, that Parse does not panic; that an error
// is made of *ParseError values of the file on its lines; and that a table
// that parses reproduces its input, parses again to the same targets, and
// swaps each target's roles so that the result parses to the swapped
// targets and a second swap gives back the original text.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.tab", "swapped/*.tab"} {
		files, _ := filepath.Glob(filepath.Join(tablesDir, pattern))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Parse("fuzz.tab", data)
		if err != nil {
			checkParseErrors(t, err, "fuzz.tab", bytes.Count(data, []byte("\n"))+1)
			return
		}
		if !bytes.Equal(tab.Bytes(), data) {
			t.Fatalf("Bytes() = %q, want the input", tab.Bytes())
		}
		checkReparse(t, tab)
		for _, name := range tab.Names() {
			before := tab.Bytes()
			if err := tab.SwapRoles(name); err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || !bytes.Equal(tab.Bytes(), before) {
					t.Fatalf("failed SwapRoles(%q) changed the table or gave no ParseError: %v", name, err)
				}
				continue
			}
			checkReparse(t, tab)
			if err := tab.SwapRoles(name); err != nil {
				t.Fatalf("second SwapRoles(%q): %v", name, err)
			}
			if !bytes.Equal(tab.Bytes(), before) {
				t.Fatalf("swapping %q twice gave %q, want %q", name, tab.Bytes(), before)
			}
		}
		if !bytes.Equal(tab.Bytes(), data) {
			t.Fatalf("after swapping every target twice Bytes() = %q", tab.Bytes())
		}
	})
}

// checkReparse asserts that the text of tab parses to its Targets.
func checkReparse(t *testing.T, tab *Table) {
	t.Helper()
	again, err := Parse(tab.File, tab.Bytes())
	if err != nil {
		t.Fatalf("Parse(Bytes()): %v", err)
	}
	if !reflect.DeepEqual(again.Targets, tab.Targets) {
		t.Fatalf("Parse(Bytes()) gives\n%swant\n%s", dump(again.Targets), dump(tab.Targets))
	}
}
