package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// TestPermUnreadableSource: a source entry the tool may not read (a file
// it cannot open, a directory it cannot list) fails the run (exit 4) and
// names the path, while every readable change is still copied, and nothing
// at all is deleted from the mirror: not the file whose deletion was due,
// not the mirror's copy of what could not be read.
func TestPermUnreadableSource(t *testing.T) {
	for _, c := range []struct {
		name       string
		unreadable string // made mode 0 on the source after the first run
		content    string // new content written to it first; "" for none
	}{
		{name: "changed file", unreadable: "detrend/2026/nov/frame1.fits", content: "changed: another size"},
		{name: "new file", unreadable: "detrend/secret.txt", content: "secret"},
		{name: "dir", unreadable: "detrend/2026/nov"},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.Unprivileged(t)
			w := newWorld(t, "detrend", "tests")
			makeTree(t, w.src)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "backup", "elixir")

			must(t, os.Remove(filepath.Join(w.src, "tests/run.sh"))) // a deletion is due
			writeFile(t, filepath.Join(w.src, "tests/new.txt"), "readable and new")
			locked := filepath.Join(w.src, c.unreadable)
			if c.content != "" {
				writeFile(t, locked, c.content)
			}
			must(t, os.Chmod(locked, 0))
			t.Cleanup(func() { // so that TempDir can go
				_ = os.Chmod(locked, 0o755)
				_ = os.Chmod(filepath.Join(w.dst, c.unreadable), 0o755)
			})
			before := snapshot(t, w.dst)

			r := w.mustRun(4, "backup", "elixir")
			if !strings.Contains(r.stderr, c.unreadable) {
				t.Errorf("stderr does not name %s:\n%s", c.unreadable, r.stderr)
			}
			if b, err := os.ReadFile(filepath.Join(w.dst, "tests/new.txt")); err != nil || string(b) != "readable and new" {
				t.Errorf("readable new file not copied: %q %v", b, err)
			}
			if c.content == "" {
				// The directory's mode (0) may be mirrored, as rsync does;
				// what it holds must not change. Open it to look inside.
				_ = os.Chmod(filepath.Join(w.dst, c.unreadable), 0o755)
			}
			after := snapshot(t, w.dst)
			for p, was := range before {
				now, ok := after[p]
				switch {
				case !ok:
					t.Errorf("%s deleted from the mirror after a source read error", p)
				case p == c.unreadable && c.content == "":
				case p == c.unreadable || strings.HasPrefix(p, c.unreadable+"/"):
					if now != was {
						t.Errorf("%s: the mirror's copy of an unreadable entry changed: was %q, now %q", p, was, now)
					}
				}
			}
			if _, err := os.Lstat(filepath.Join(w.dst, "detrend/secret.txt")); !os.IsNotExist(err) {
				t.Errorf("an unreadable file reached the mirror: %v", err)
			}
		})
	}
}
