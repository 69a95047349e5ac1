package main

import (
	"strings"
	"testing"
)

// TestRerunChangesNothing: a second run over an unchanged whole-root
// target plans nothing, not even the root's mtime (the lock, the marker
// and the run record must leave no trace on it), locally and over SSH.
func TestRerunChangesNothing(t *testing.T) {
	for _, overSSH := range []bool{false, true} {
		w := newWorld(t)
		if overSSH {
			w = newSSHWorld(t, false).world
		}
		makeTree(t, w.src)
		w.mustRun(0, "init", "elixir")
		w.mustRun(0, "backup", "elixir")
		r := w.mustRun(0, "backup", "elixir", "-v")
		if !strings.Contains(r.stdout, "total: 0 files (0 B) to copy, 0 dirs to create, 0 links, 0 metadata changes, 0 deletions") {
			t.Errorf("ssh %v: a rerun over an unchanged tree planned work:\n%s", overSSH, r.stdout)
		}
	}
}
