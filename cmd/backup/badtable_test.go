package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadTablesExit2: every bad table of testdata (one per error case of
// DESIGN §2) makes every command that reads the table exit 2, naming each
// problem as file:line: what, exactly as the golden .err file says, and
// nothing else is done.
func TestBadTablesExit2(t *testing.T) {
	bad, err := filepath.Glob("../../testdata/tables/bad-*.tab")
	if err != nil || len(bad) < 10 {
		t.Fatalf("bad tables: %v %v", bad, err)
	}
	for _, tab := range bad {
		if filepath.Base(tab) == "bad-same-place.tab" {
			continue // its golden needs the machine named naio (the table test fakes it)
		}
		t.Run(filepath.Base(tab), func(t *testing.T) {
			golden, err := os.ReadFile(strings.TrimSuffix(tab, ".tab") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			// Run from the table's directory so the messages name it as
			// the golden files do.
			t.Chdir(filepath.Dir(tab))
			for _, args := range [][]string{{"-targets"}, {"-status", "elixir"}, {"-backup", "elixir", "-n"}} {
				var out, errb bytes.Buffer
				full := append([]string{"backup", "--table", filepath.Base(tab)}, args...)
				code := run(context.Background(), full, &out, &errb)
				if code != exitUsage {
					t.Fatalf("%v: exit %d, want %d\n%s", args, code, exitUsage, errb.String())
				}
				// The whole of stderr: the golden problems, one a line, after
				// the program's name, and nothing more.
				if want := "backup: " + string(golden); errb.String() != want {
					t.Errorf("%v: stderr\n%s\nwant (the golden %s.err whole):\n%s", args, errb.String(), strings.TrimSuffix(filepath.Base(tab), ".tab"), want)
				}
				if out.Len() != 0 {
					t.Errorf("%v: printed %q for a bad table", args, out.String())
				}
			}
		})
	}
}
