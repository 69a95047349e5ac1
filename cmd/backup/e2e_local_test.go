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
// the first run makes an identical mirror (rsync says so), and after edits,
// additions and deletions on the source the next run makes it identical
// again.
func TestBackupMirrorsAndFollowsChanges(t *testing.T) {
	for _, dirs := range [][]string{{"detrend", "tests"}, nil} {
		t.Run(strings.Join(append([]string{"dirs"}, dirs...), "-"), func(t *testing.T) {
			w := newWorld(t, dirs...)
			makeTree(t, w.src)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "-backup", "elixir")
			w.assertSame()

			writeFile(t, filepath.Join(w.src, "detrend/2026/nov/frame1.fits"), "edited")
			writeFile(t, filepath.Join(w.src, "detrend/new/dir/file.txt"), "new")
			must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
			must(t, os.RemoveAll(filepath.Join(w.src, "tests/nested")))
			must(t, os.Chmod(filepath.Join(w.src, "detrend/empty.dat"), 0o640))
			w.mustRun(0, "backup", "elixir")
			w.assertSame()
			if _, err := os.Stat(filepath.Join(w.dst, "detrend/one.txt")); !os.IsNotExist(err) {
				t.Fatalf("deleted file still on the mirror: %v", err)
			}
			trash, _ := filepath.Glob(filepath.Join(w.dst, ".backup-trash/*/detrend/one.txt"))
			if len(trash) != 1 {
				t.Fatalf("deleted file not in the trash: %v", trash)
			}
		})
	}
}

// TestOutOfScopeUntouched: only the DIRs are copied.
func TestOutOfScopeUntouched(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	writeFile(t, filepath.Join(w.dst, "other/mine.txt"), "mirror's own")
	w.mustRun(0, "init", "elixir", "--adopt")
	w.mustRun(0, "backup", "elixir")
	if _, err := os.Stat(filepath.Join(w.dst, "other/not-in-scope.txt")); !os.IsNotExist(err) {
		t.Fatalf("out-of-scope file was copied: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(w.dst, "other/mine.txt")); err != nil || string(b) != "mirror's own" {
		t.Fatalf("out-of-scope mirror file touched: %q %v", b, err)
	}
}

// TestDryRunWritesNothing: the audit shows every action and leaves both
// trees byte for byte, mode for mode, time for time as they were.
func TestDryRunWritesNothing(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	srcBefore, dstBefore := snapshot(t, w.src), snapshot(t, w.dst)
	r := w.mustRun(0, "backup", "elixir", "--dry-run")
	for _, want := range []string{">f+++++++++ detrend/2026/dec/big.bin", "cd+++++++++ detrend/empty dir/", "cL+++++++++ detrend/latest -> 2026/nov", "total: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertUnchanged(t, w.src, srcBefore)
	assertUnchanged(t, w.dst, dstBefore)

	w.mustRun(0, "backup", "elixir")
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	srcBefore, dstBefore = snapshot(t, w.src), snapshot(t, w.dst)
	r = w.mustRun(0, "-backup", "elixir", "-n", "--json")
	var plan struct {
		Actions []struct{ Op, Path string }
		Totals  struct{ Deletes int }
	}
	must(t, json.Unmarshal([]byte(r.stdout), &plan))
	if plan.Totals.Deletes != 1 || len(plan.Actions) == 0 {
		t.Fatalf("json plan: %+v", plan)
	}
	assertUnchanged(t, w.src, srcBefore)
	assertUnchanged(t, w.dst, dstBefore)
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
// the source back, and keeps files the mirror lacks.
func TestRestoreBringsBackAndDeletesNothing(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	lost := filepath.Join(w.src, "detrend/2026/nov/frame1.fits")
	want, err := os.ReadFile(lost)
	must(t, err)
	must(t, os.Remove(lost))
	writeFile(t, filepath.Join(w.src, "tests/only-on-source.txt"), "keep me")

	w.mustRun(0, "-restore", "elixir")
	got, err := os.ReadFile(lost)
	if err != nil || string(got) != string(want) {
		t.Fatalf("restored file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.src, "tests/only-on-source.txt")); err != nil {
		t.Fatalf("restore deleted a source file: %v", err)
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
