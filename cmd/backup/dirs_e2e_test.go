package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// dirCase is a DIR of the table that is missing or not a directory on one
// copy (issue 8 item 3).
type dirCase struct {
	name string
	dirs []string
	// setup breaks the DIR; elsewhere is a directory outside both copies
	// (inside the test's directory, so that snapshots cover it).
	setup func(t *testing.T, w *world, elsewhere string)
	words []string // in every refusal, beside "refused:"
	// onMirror: the mirror is broken (else the source); restoreFills: a
	// restore is no refusal but brings the DIR back.
	onMirror, restoreFills bool
	broken                 string // the path to take away to repair it
	// ssh: run over the sshd hosts too (SFTP, unlike os.Root, follows
	// a symlink anywhere in a path).
	ssh bool
}

var dirCases = []dirCase{
	{name: "source-dir-missing", dirs: []string{"detrend", "tests"}, broken: "tests", restoreFills: true,
		setup: func(t *testing.T, w *world, _ string) { must(t, os.RemoveAll(filepath.Join(w.src, "tests"))) },
		words: []string{"DIR tests on SOURCE", ": missing"}},
	{name: "source-dir-is-a-file", dirs: []string{"detrend", "tests"}, broken: "tests",
		setup: func(t *testing.T, w *world, _ string) {
			must(t, os.RemoveAll(filepath.Join(w.src, "tests")))
			writeFile(t, filepath.Join(w.src, "tests"), "a file where the DIR was")
		},
		words: []string{"DIR tests on SOURCE", "a regular file, not a directory"}},
	{name: "source-dir-is-a-symlink-to-etc", dirs: []string{"detrend", "tests"}, broken: "tests", ssh: true,
		setup: func(t *testing.T, w *world, _ string) {
			must(t, os.RemoveAll(filepath.Join(w.src, "tests")))
			must(t, os.Symlink("/etc", filepath.Join(w.src, "tests")))
		},
		words: []string{"DIR tests on SOURCE", "a symlink to /etc, not a directory"}},
	{name: "source-parent-is-a-symlink", dirs: []string{"detrend", "tests/nested"}, broken: "tests", ssh: true,
		setup: func(t *testing.T, w *world, elsewhere string) {
			must(t, os.Rename(filepath.Join(w.src, "tests"), elsewhere))
			writeFile(t, filepath.Join(elsewhere, "nested/outside.txt"), "outside the copy")
			must(t, os.Symlink(elsewhere, filepath.Join(w.src, "tests")))
		},
		words: []string{"DIR tests/nested on SOURCE", "tests, above it, is a symlink to " + "/"}},
	{name: "mirror-dir-is-a-symlink", dirs: []string{"detrend", "tests"}, broken: "tests", onMirror: true,
		setup: func(t *testing.T, w *world, elsewhere string) {
			must(t, os.Rename(filepath.Join(w.dst, "tests"), elsewhere))
			must(t, os.Symlink(elsewhere, filepath.Join(w.dst, "tests")))
		},
		words: []string{"DIR tests on MIRROR", "a symlink to /"}},
	{name: "mirror-parent-is-a-symlink", dirs: []string{"detrend", "tests/nested"}, broken: "tests", onMirror: true, ssh: true,
		setup: func(t *testing.T, w *world, elsewhere string) {
			must(t, os.Rename(filepath.Join(w.dst, "tests"), elsewhere))
			must(t, os.Symlink(elsewhere, filepath.Join(w.dst, "tests")))
		},
		words: []string{"DIR tests/nested on MIRROR", "tests, above it, is a symlink to /"}},
}

// TestDirNotADirectory: a DIR that is missing, a file or a symlink (to
// /etc, or a directory above it linked elsewhere) on the copy read from,
// or a symlink on the copy written to, refuses backup, swap and restore
// (exit 3, the DIR and what stands there named) before anything is
// written: no DIR gets a file or loses one (nor to the trash), nothing is
// written through the link, the tool's own files are untouched. Once
// what stands there is taken away, restore refills a source DIR, a
// backup repairs a mirror DIR, and rsync finds the copies identical.
// Locally and over the sshd test hosts (SFTP follows links in a path).
func TestDirNotADirectory(t *testing.T) {
	needRsync(t)
	for _, remote := range []bool{false, true} {
		for _, c := range dirCases {
			if remote && !c.ssh {
				continue
			}
			name := c.name
			if remote {
				name = "ssh/" + name
			}
			t.Run(name, func(t *testing.T) { testDirCase(t, c, remote) })
		}
	}
}

func testDirCase(t *testing.T, c dirCase, remote bool) {
	var w *world
	if remote {
		w = newSSHWorld(t, false, c.dirs...).world
	} else {
		w = newWorld(t, c.dirs...)
	}
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	elsewhere := filepath.Join(w.dir, "elsewhere")
	c.setup(t, w, elsewhere)
	// What a run that went on would copy and delete in the other DIR.
	writeFile(t, filepath.Join(w.src, "detrend/new.txt"), "new on the source")
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	// A refused run that held the lock puts the mirror root's mtime back
	// as it found it, over SFTP to the second only: start from whole
	// seconds, so that the snapshot sees what the run wrote, not that.
	fi, err := os.Stat(w.dst)
	must(t, err)
	must(t, os.Chtimes(w.dst, fi.ModTime().Truncate(time.Second), fi.ModTime().Truncate(time.Second)))
	before := snapshot(t, w.dir)
	runs := [][]string{{"backup", "elixir"}, {"backup", "elixir", "--dry-run"}, {"swap", "elixir"}}
	if !c.restoreFills {
		runs = append(runs, []string{"restore", "elixir"}, []string{"restore", "elixir", "--dry-run"}, []string{"restore", "elixir", "--delete"})
	}
	for _, args := range runs {
		r := w.mustRun(3, args...)
		assertWords(t, r.stderr, append([]string{"refused:", "nothing is copied, deleted or trashed in any DIR", "what to do"}, c.words...))
		assertUnchanged(t, w.dir, before)
	}

	// The repair the message names.
	if c.onMirror {
		must(t, os.Remove(filepath.Join(w.dst, c.broken)))
		// The manifest knew the DIR's files: they are gone from outside.
		w.mustRun(0, "backup", "elixir", "--overwrite-mirror-changes")
	} else {
		if !c.restoreFills {
			must(t, os.Remove(filepath.Join(w.src, c.broken)))
		}
		w.mustRun(0, "restore", "elixir")
		if _, err := os.Stat(filepath.Join(w.src, "tests/run.sh")); c.dirs[1] == "tests" && err != nil {
			t.Fatalf("restore did not refill the DIR: %v", err)
		}
		w.mustRun(0, "backup", "elixir")
	}
	w.assertSame()
}
