package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupMirrorsAndFollowsChanges is the nightly cycle on local copies:
// the first run makes an identical mirror (rsync says so, ".backup-" names
// inside the DIRs compared like any), and after edits, additions and
// deletions on the source the next run makes it identical again, with
// every file it replaced or deleted in the trash as it was, and nothing
// else there.
func TestBackupMirrorsAndFollowsChanges(t *testing.T) {
	for _, dirs := range [][]string{{"detrend", "tests"}, nil} {
		t.Run(strings.Join(append([]string{"dirs"}, dirs...), "-"), func(t *testing.T) {
			w := newWorld(t, dirs...)
			makeTree(t, w.src)
			addLookalikes(t, w.src)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "-backup", "elixir")
			w.assertSame()
			if got := sumOf(t, filepath.Join(w.dst, "tests/.backup-id")); got != sumOf(t, filepath.Join(w.src, "tests/.backup-id")) {
				t.Fatalf("a .backup- name inside a DIR was not mirrored")
			}

			before := contentSums(t, w.dst, false)
			writeFile(t, filepath.Join(w.src, "detrend/2026/nov/frame1.fits"), "edited")
			writeFile(t, filepath.Join(w.src, "detrend/new/dir/file.txt"), "new")
			must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
			must(t, os.RemoveAll(filepath.Join(w.src, "tests/nested")))
			must(t, os.Remove(filepath.Join(w.src, "detrend/.backup-notes.txt")))
			must(t, os.Chmod(filepath.Join(w.src, "detrend/empty.dat"), 0o640))
			w.mustRun(0, "backup", "elixir")
			w.assertSame()
			if _, err := os.Stat(filepath.Join(w.dst, "detrend/one.txt")); !os.IsNotExist(err) {
				t.Fatalf("deleted file still on the mirror: %v", err)
			}
			kept := map[string]string{}
			for _, p := range []string{"detrend/2026/nov/frame1.fits", "detrend/one.txt", "tests/nested/a/b/c/deep.txt", "detrend/.backup-notes.txt"} {
				kept[p] = before[p]
			}
			assertTrashHolds(t, w.dst, kept)
		})
	}
}

// TestOutOfScopeUntouched: only the DIRs are copied; everything outside
// them, on both copies, stays as it was, owners and times included.
func TestOutOfScopeUntouched(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	writeFile(t, filepath.Join(w.dst, "other/mine.txt"), "mirror's own")
	writeFile(t, filepath.Join(w.dst, "other/sub/deeper.txt"), "deeper")
	writeFile(t, filepath.Join(w.dst, "NOTES"), "at the mirror's root")
	writeFile(t, filepath.Join(w.dst, "detrend-old/kept.txt"), "a name next to a DIR's")
	must(t, os.Mkdir(filepath.Join(w.dst, "private"), 0o700))
	must(t, os.Symlink("other/mine.txt", filepath.Join(w.dst, "link")))
	w.mustRun(0, "init", "elixir", "--adopt")
	srcBefore := without(snapshot(t, w.src), true)
	dstBefore := without(snapshot(t, w.dst), true, w.dirs...)
	w.mustRun(0, "backup", "elixir")
	w.assertSame()
	if _, err := os.Stat(filepath.Join(w.dst, "other/not-in-scope.txt")); !os.IsNotExist(err) {
		t.Fatalf("out-of-scope file was copied: %v", err)
	}
	assertSnapshotsEqual(t, "the source", srcBefore, without(snapshot(t, w.src), true))
	assertSnapshotsEqual(t, "the mirror outside the DIRs", dstBefore, without(snapshot(t, w.dst), true, w.dirs...))
}

// TestDryRunWritesNothing: the audit shows every action and leaves both
// trees byte for byte, mode for mode, time for time as they were.
func TestDryRunWritesNothing(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	before := snapshot(t, w.dir) // both copies and the table
	r := w.mustRun(0, "backup", "elixir", "--dry-run")
	for _, want := range []string{">f+++++++++ detrend/2026/dec/big.bin", "cd+++++++++ detrend/empty dir/", "cL+++++++++ detrend/latest -> 2026/nov", "total: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertUnchanged(t, w.dir, before)

	w.mustRun(0, "backup", "elixir")
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	before = snapshot(t, w.dir)
	r = w.mustRun(0, "-backup", "elixir", "-n", "--json")
	var plan struct {
		Actions []struct{ Op, Path string }
		Totals  struct{ Deletes int }
	}
	must(t, json.Unmarshal([]byte(r.stdout), &plan))
	if plan.Totals.Deletes != 1 || len(plan.Actions) == 0 {
		t.Fatalf("json plan: %+v", plan)
	}
	assertUnchanged(t, w.dir, before)
}

// TestCheckFindsFlippedByteAndChecksumRepairs: corruption that keeps size
// and mtime is invisible to the quick comparison, found by check, repaired
// by --checksum.
func TestCheckFindsFlippedByteAndChecksumRepairs(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	w.mustRun(0, "check", "elixir")

	victim := filepath.Join(w.dst, "detrend/2026/dec/big.bin")
	fi, err := os.Stat(victim)
	must(t, err)
	data, err := os.ReadFile(victim)
	must(t, err)
	data[len(data)/2] ^= 0x40
	must(t, os.WriteFile(victim, data, fi.Mode()))
	must(t, os.Chtimes(victim, fi.ModTime(), fi.ModTime()))

	r := w.mustRun(1, "check", "elixir")
	if !strings.Contains(r.stdout, "differ:  detrend/2026/dec/big.bin") {
		t.Fatalf("check does not name the file:\n%s", r.stdout)
	}
	w.mustRun(0, "backup", "elixir") // size and mtime equal: not seen
	w.mustRun(1, "check", "elixir")
	r = w.mustRun(1, "backup", "elixir", "--checksum") // repaired, with a warning
	if !strings.Contains(r.stderr, "big.bin") {
		t.Fatalf("repair not reported:\n%s", r.stderr)
	}
	w.mustRun(0, "check", "elixir")
	w.assertSame()
}

// TestRestoreBringsBackAndDeletesNothing: restore copies a file deleted on
// the source back and puts back one changed there (the source's version
// kept in the source's trash), and deletes nothing: every entry only on
// the source stays as it was. With --delete those go too, into the
// source's trash, and the copies are the same.
func TestRestoreBringsBackAndDeletesNothing(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	lost := filepath.Join(w.src, "detrend/2026/nov/frame1.fits")
	want, err := os.ReadFile(lost)
	must(t, err)
	must(t, os.Remove(lost))
	changed := filepath.Join(w.src, "tests/run.sh")
	changedWant := sumOf(t, changed)
	writeFile(t, changed, "echo changed on the source after the run\n")
	changedOnSource := sumOf(t, changed)
	onlyOnSource := []string{"tests/only-on-source.txt", "detrend/new dir/a.txt", "detrend/new dir/nested/b.txt",
		"detrend/2026/nov/late.fits", "detrend/link-only-here", "tests/empty-only-here"}
	for _, p := range onlyOnSource[:4] {
		writeFile(t, filepath.Join(w.src, p), "keep me: "+p)
	}
	must(t, os.Symlink("2026", filepath.Join(w.src, "detrend/link-only-here")))
	must(t, os.Mkdir(filepath.Join(w.src, "tests/empty-only-here"), 0o750))
	before := snapshot(t, w.src)

	w.mustRun(0, "-restore", "elixir")
	got, err := os.ReadFile(lost)
	if err != nil || string(got) != string(want) {
		t.Fatalf("restored file: %v", err)
	}
	if sumOf(t, changed) != changedWant {
		t.Errorf("restore left the source's change to %s in place", changed)
	}
	after := snapshot(t, w.src)
	for p, d := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("restore deleted %s from the source (was %s)", p, d)
		}
	}
	for _, p := range onlyOnSource {
		if after[p] != before[p] {
			t.Errorf("restore changed %s, only on the source: was %q, now %q", p, before[p], after[p])
		}
	}
	assertTrashHolds(t, w.src, map[string]string{"tests/run.sh": changedOnSource})

	r := w.mustRun(0, "restore", "elixir", "--delete", "--max-delete", "100%")
	w.assertSame()
	kept := trashed(t, w.src)
	for _, p := range onlyOnSource[:4] {
		if sums := kept[p]; len(sums) != 1 {
			t.Errorf("restore --delete: %s not kept once in the source's trash (%d)\n%s", p, len(sums), r.stdout)
		}
	}
}

// TestRestoreFillsReplacementDisk: an empty, unmarked source (a new disk)
// is filled from the mirror and stamped; the next backup is in sync.
func TestRestoreFillsReplacementDisk(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	must(t, os.RemoveAll(w.src))
	must(t, os.MkdirAll(w.src, 0o755))

	w.mustRun(3, "backup", "elixir") // an empty source is never copied from
	w.mustRun(0, "restore", "elixir")
	w.assertSame()
	r := w.mustRun(0, "status", "elixir")
	if !strings.Contains(r.stdout, "source copy:  role source, epoch 1") {
		t.Fatalf("replacement disk not stamped:\n%s", r.stdout)
	}
	r = w.mustRun(0, "backup", "elixir", "-n")
	if !strings.Contains(r.stdout, "total: 0 files") {
		t.Fatalf("not in sync after restore:\n%s", r.stdout)
	}
}

// TestTypeChanges: a file that became a directory and the reverse.
func TestTypeChanges(t *testing.T) {
	w := newWorld(t, "detrend")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	writeFile(t, filepath.Join(w.src, "detrend/one.txt/inside"), "now a dir")
	must(t, os.RemoveAll(filepath.Join(w.src, "detrend/2026/dec")))
	writeFile(t, filepath.Join(w.src, "detrend/2026/dec"), "now a file")
	must(t, os.Remove(filepath.Join(w.src, "detrend/latest")))
	writeFile(t, filepath.Join(w.src, "detrend/latest"), "link became file")
	w.mustRun(0, "backup", "elixir", "--max-delete", "100%")
	w.assertSame()
}

// TestBadUsage: unknown command, missing target, unknown target, bad flag.
func TestBadUsage(t *testing.T) {
	w := newWorld(t)
	for _, args := range [][]string{{"frobnicate"}, {"backup"}, {"backup", "nosuch"}, {"backup", "elixir", "--max-delete", "lots"}, {"check", "a", "b"}, {}} {
		r := w.run(args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("backup %q: exit %d (want 2), stderr %q", args, r.code, r.stderr)
		}
	}
}

// TestTargetsAndStatusAsTheSeedShows: the legacy commands print what the
// Perl script printed.
func TestTargetsAndStatusAsTheSeedShows(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	r := w.mustRun(0, "-targets")
	if r.stdout != "available targets:\n  elixir\n" {
		t.Fatalf("targets: %q", r.stdout)
	}
	r = w.mustRun(0, "-status", "elixir", "--table-only")
	want := "target:  elixir\nsource:  " + w.src + "\nmirror:  " + w.dst + "\ndir:     detrend\ndir:     tests\n"
	if r.stdout != want {
		t.Fatalf("status:\n%s\nwant:\n%s", r.stdout, want)
	}
}

// TestTrashPruned: trash older than the retention goes, newer stays.
func TestTrashPruned(t *testing.T) {
	w := newWorld(t, "detrend")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	old := filepath.Join(w.dst, ".backup-trash", time.Now().Add(-8*24*time.Hour).UTC().Format("20060102T150405Z"))
	writeFile(t, filepath.Join(old, "detrend/x"), "old")
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	w.mustRun(0, "backup", "elixir")
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("old trash not pruned: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(w.dst, ".backup-trash/*/detrend/one.txt")); len(m) != 1 {
		t.Fatalf("new trash missing: %v", m)
	}
}
