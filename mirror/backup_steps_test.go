package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

// backupD runs Backup of target elixir, DIR d (opt's other fields as
// given).
func backupD(src, dst transport.FS, opt RunOptions) (*Report, error) {
	opt.Target = "elixir"
	if opt.Dirs == nil {
		opt.Dirs = []string{"d"}
	}
	return Backup(context.Background(), src, dst, opt)
}

// TestBackupSourceEmpty: DESIGN §3 "an empty source is never copied
// from": a source whose DIR holds no file while the mirror's does refuses
// the run and the mirror keeps everything; both empty is a run like any.
func TestBackupSourceEmpty(t *testing.T) {
	srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a", "d/b": "b"})
	for _, f := range []string{"d/a", "d/b"} {
		if err := os.Remove(filepath.Join(srcDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	before := readTree(t, dstDir)
	_, err := backupD(src, dst, RunOptions{MaxDelete: MaxDelete{Percent: 100}})
	wantRefusal(t, err, "source-empty")
	if d := diffTrees(before, readTree(t, dstDir)); d != "" {
		t.Errorf("a refused run changed the mirror:\n%s", d)
	}
	for _, f := range []string{"d/a", "d/b"} {
		if err := os.Remove(filepath.Join(dstDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dstDir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := backupD(src, dst, RunOptions{}); err != nil {
		t.Errorf("both DIRs empty: %v", err)
	}
}

// TestBackupMirrorChanged: DESIGN §3 "never turned against the good copy":
// a file changed on the mirror outside the tool refuses the run (nothing
// written); with OverwriteMirrorChanges it is replaced and its content
// kept in the trash even with NoTrash.
func TestBackupMirrorChanged(t *testing.T) {
	_, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a", "d/b": "b"})
	write(t, dstDir, "d/a", "written by users on the mirror", t0.Add(time.Hour))
	before := readTree(t, dstDir)
	_, err := backupD(src, dst, RunOptions{})
	wantRefusal(t, err, "mirror-changed")
	if d := diffTrees(before, readTree(t, dstDir)); d != "" {
		t.Errorf("a refused run changed the mirror:\n%s", d)
	}
	rep, err := backupD(src, dst, RunOptions{OverwriteMirrorChanges: true, NoTrash: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.MirrorChanges, []string{"changed: d/a"}) {
		t.Errorf("mirror changes %v, want d/a changed", rep.MirrorChanges)
	}
	got := readTree(t, dstDir)
	if got["d/a"] != "a" {
		t.Errorf("d/a holds %q, want the source's", got["d/a"])
	}
	if kept := trashedContents(got); !slices.Equal(kept, []string{"written by users on the mirror"}) {
		t.Errorf("trash holds %q, want the users' version", kept)
	}
}

// trashedContents returns the contents of the files in a readTree's
// trash, sorted.
func trashedContents(tree map[string]string) []string {
	var out []string
	for p, c := range tree {
		if strings.HasPrefix(p, TrashDir+"/") {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// TestBackupTrashOrNot: a deleted and a replaced file go to the trash,
// with NoTrash nowhere.
func TestBackupTrashOrNot(t *testing.T) {
	for _, noTrash := range []bool{false, true} {
		srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a", "d/b": "b", "d/c": "c"})
		if err := os.Remove(filepath.Join(srcDir, "d/a")); err != nil {
			t.Fatal(err)
		}
		write(t, srcDir, "d/b", "b, longer now", t0)
		if _, err := backupD(src, dst, RunOptions{NoTrash: noTrash, MaxDelete: MaxDelete{Percent: 100}}); err != nil {
			t.Fatal(err)
		}
		got := readTree(t, dstDir)
		want := []string{"a", "b"}
		if noTrash {
			want = nil
		}
		if kept := trashedContents(got); !slices.Equal(kept, want) {
			t.Errorf("NoTrash %v: trash holds %q, want %q", noTrash, kept, want)
		}
	}
}

// TestBackupRepairWarning: with Checksum, a mirror file whose content
// differs with equal size, mtime and mode is repaired with a warning that
// says so; a file that differs in size is an update like any, without it.
func TestBackupRepairWarning(t *testing.T) {
	srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "aaaa", "d/b": "b"})
	write(t, dstDir, "d/a", "aXaa", t0) // bit rot: size and mtime kept
	write(t, srcDir, "d/b", "b, longer now", t0.Add(time.Minute))
	if err := os.Remove(filepath.Join(dstDir, ManifestFile)); err != nil { // or the changed mirror refuses
		t.Fatal(err)
	}
	rep, err := backupD(src, dst, RunOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	var repairs []string
	for _, w := range rep.Warnings {
		if strings.Contains(w, "content differed with equal size") {
			repairs = append(repairs, w)
		}
	}
	if len(repairs) != 1 || !strings.HasPrefix(repairs[0], "d/a: ") {
		t.Errorf("repair warnings %q, want one for d/a", repairs)
	}
	if got := readTree(t, dstDir); got["d/a"] != "aaaa" || got["d/b"] != "b, longer now" {
		t.Errorf("mirror after the repair: %q %q", got["d/a"], got["d/b"])
	}
}

// TestBackupManifestAndJournal: a run that changes nothing leaves the
// manifest as it was (same bytes, same mtime) and writes no journal; one
// that changes something writes the journal before its first write,
// records the change in the manifest and removes the journal at its end.
func TestBackupManifestAndJournal(t *testing.T) {
	srcDir, dstDir, src, local := syncedPair(t, map[string]string{"d/a": "a"})
	manifestPath := filepath.Join(dstDir, ManifestFile)
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(manifestPath, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	dst := faultfs.New(local)
	if _, err := backupD(src, dst, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(manifestPath)
	if !bytes.Equal(before, after) || !fi.ModTime().Equal(old) {
		t.Errorf("an unchanged run rewrote the manifest")
	}
	for _, c := range dst.Calls() {
		// The lock and the marker's synced record are written; no data,
		// manifest or journal.
		if c.Op == faultfs.Create && (strings.HasPrefix(c.Name, "d/") || strings.HasSuffix(c.Name, ManifestFile) || strings.HasSuffix(c.Name, JournalFile)) {
			t.Errorf("an unchanged run created %s", c.Name)
		}
	}

	write(t, srcDir, "d/new", "new", t0)
	journalBefore := false
	dst.Add(faultfs.Fault{Op: faultfs.Create, Name: "d/" + transport.TempPrefix + "*", Times: 1, Hook: func() {
		_, err := os.Lstat(filepath.Join(dstDir, JournalFile))
		journalBefore = err == nil
	}})
	if _, err := backupD(src, dst, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if !journalBefore {
		t.Errorf("no journal when the first file was written")
	}
	if _, err := os.Lstat(filepath.Join(dstDir, JournalFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal stays after a complete run: %v", err)
	}
	m, err := ReadManifest(local)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m["d/new"]; !ok {
		t.Errorf("the manifest lacks the new file")
	}
}

// TestBackupFailedRunJournal: a run with a failed copy keeps the journal,
// naming its token and the failed path alone (the copied one is done),
// records what it did copy in the manifest, and leaves the marker's
// synced record as it was: the run is not complete.
func TestBackupFailedRunJournal(t *testing.T) {
	srcDir, dstDir, local, dst := syncedPair(t, map[string]string{"d/a": "a"})
	write(t, srcDir, "d/ok", "copied", t0)
	write(t, srcDir, "d/bad", "unreadable", t0)
	markerBefore, err := os.ReadFile(filepath.Join(dstDir, MarkerFile))
	if err != nil {
		t.Fatal(err)
	}
	src := faultfs.New(local, faultfs.Fault{Op: faultfs.Open, Name: "d/bad"})
	rep, err := backupD(src, dst, RunOptions{})
	if !errors.Is(err, syscall.EIO) || rep.Err() == nil {
		t.Fatalf("run: %v, want the injected EIO", err)
	}
	j, err := readJournal(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(j.Paths, []string{"d/bad"}) || len(j.Temps) != 1 {
		t.Errorf("journal %+v, want the failed path and the run's token", j)
	}
	m, err := ReadManifest(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m["d/ok"]; !ok {
		t.Errorf("the manifest lacks the file the failed run copied")
	}
	if markerAfter, _ := os.ReadFile(filepath.Join(dstDir, MarkerFile)); !bytes.Equal(markerBefore, markerAfter) {
		t.Errorf("an incomplete run rewrote the marker")
	}
}

// TestBackupToolFileFailures: a journal that cannot be read, a manifest
// or marker that cannot be written fails the run with the cause.
func TestBackupToolFileFailures(t *testing.T) {
	tests := []struct {
		name      string
		onSource  bool
		fault     faultfs.Fault
		wantWrite bool // the data was written before the failure
	}{
		{"source's journal unreadable", true, faultfs.Fault{Op: faultfs.Open, Name: JournalFile}, false},
		{"mirror's journal unreadable", false, faultfs.Fault{Op: faultfs.Open, Name: JournalFile}, false},
		{"manifest not written", false, faultfs.Fault{Op: faultfs.Rename, To: ManifestFile}, true},
		{"marker not written", false, faultfs.Fault{Op: faultfs.Rename, To: MarkerFile}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a"})
			write(t, srcDir, "d/new", "new", t0)
			for _, root := range []string{srcDir, dstDir} { // a journal to read
				if err := os.WriteFile(filepath.Join(root, JournalFile), []byte("# journal\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var s, d transport.FS = src, dst
			if tc.onSource {
				s = faultfs.New(src, tc.fault)
			} else {
				d = faultfs.New(dst, tc.fault)
			}
			_, err := backupD(s, d, RunOptions{})
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("run: %v, want the injected EIO", err)
			}
			_, statErr := os.Lstat(filepath.Join(dstDir, "d/new"))
			if wrote := statErr == nil; wrote != tc.wantWrite {
				t.Errorf("d/new on the mirror: %v, want %v", wrote, tc.wantWrite)
			}
		})
	}
}

// TestBackupMarkerAndRootTime: a complete run records in the mirror's
// marker which source and epoch it synced, and how much; with the whole
// root in scope the mirror root gets the source root's mtime back (the
// marker's write changed it); with DIRs the root is left be.
func TestBackupMarkerAndRootTime(t *testing.T) {
	for _, dirs := range [][]string{{}, {"."}, {"d"}} { // none: the whole root
		srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a", "d/b": "bb"})
		rootTime := time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)
		if err := os.Chtimes(srcDir, rootTime, rootTime); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dstDir, ManifestFile)); err != nil {
			t.Fatal(err)
		}
		if _, err := backupD(src, dst, RunOptions{Dirs: dirs, MaxDelete: MaxDelete{Percent: 100}}); err != nil {
			t.Fatal(err)
		}
		sm, err := ReadMarker(src)
		if err != nil {
			t.Fatal(err)
		}
		dm, err := ReadMarker(dst)
		if err != nil {
			t.Fatal(err)
		}
		if dm.Role != RoleMirror || dm.Synced == nil || dm.Synced.Source != sm.Copy || dm.Synced.Epoch != sm.Epoch || dm.Synced.Files != 2 || dm.Synced.Bytes != 3 {
			t.Errorf("dirs %v: mirror marker %+v (synced %+v)", dirs, dm, dm.Synced)
		}
		fi, err := os.Stat(dstDir)
		if err != nil {
			t.Fatal(err)
		}
		if whole := len(dirs) == 0 || dirs[0] == "."; fi.ModTime().Equal(rootTime) != whole {
			t.Errorf("dirs %v: mirror root mtime %v (source's %v)", dirs, fi.ModTime(), rootTime)
		}
	}
}

// TestBackupDryRunLockHeld: a dry run takes no lock and writes nothing,
// and says that a real run would be refused now that another holds it.
func TestBackupDryRunLockHeld(t *testing.T) {
	srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a"})
	write(t, srcDir, "d/new", "new", t0)
	host, _ := os.Hostname()
	lock := fmt.Sprintf("host = %q\npid = %d\nstarted = 2026-01-01T00:00:00Z\ncommand = \"backup elixir\"\n", host, os.Getpid())
	if err := os.WriteFile(filepath.Join(dstDir, LockFile), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, dstDir)
	rep, err := backupD(src, dst, RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "a real run would be refused now") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	if d := diffTrees(before, readTree(t, dstDir)); d != "" {
		t.Errorf("a dry run wrote:\n%s", d)
	}
	if err := os.Remove(filepath.Join(dstDir, LockFile)); err != nil {
		t.Fatal(err)
	}
	if rep, err := backupD(src, dst, RunOptions{DryRun: true}); err != nil || len(rep.Warnings) != 0 {
		t.Errorf("dry run without a lock: %v, warnings %q", err, rep.Warnings)
	}
}

// TestMirrorChangedListsTwenty: the refusal names the first 20 changed
// paths and says how many more there are.
func TestMirrorChangedListsTwenty(t *testing.T) {
	files := map[string]string{}
	for i := range 23 {
		files[fmt.Sprintf("d/f%02d", i)] = "x"
	}
	_, dstDir, src, dst := syncedPair(t, files)
	for p := range files {
		write(t, dstDir, p, "changed on the mirror", t0)
	}
	_, err := backupD(src, dst, RunOptions{})
	wantRefusal(t, err, "mirror-changed")
	msg := err.Error()
	if !strings.Contains(msg, "(23 paths)") || !strings.Contains(msg, "    ... and 3 more") || !strings.Contains(msg, "d/f19") || strings.Contains(msg, "d/f20") {
		t.Errorf("refusal:\n%s", msg)
	}
}

// TestBackupTakesOverStaleLock: a lock left by a process of this host that
// is gone is taken over, and the run says so.
func TestBackupTakesOverStaleLock(t *testing.T) {
	srcDir, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a"})
	write(t, srcDir, "d/new", "new", t0)
	host, _ := os.Hostname()
	lock := fmt.Sprintf("host = %q\npid = %d\nstarted = 2026-01-01T00:00:00Z\ncommand = \"backup elixir\"\n", host, deadPID(t))
	if err := os.WriteFile(filepath.Join(dstDir, LockFile), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := backupD(src, dst, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], "took over the stale lock of "+host) {
		t.Errorf("warnings %q, want the takeover", rep.Warnings)
	}
	if got := readTree(t, dstDir)["d/new"]; got != "new" {
		t.Errorf("d/new on the mirror: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dstDir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock left after the run: %v", err)
	}
}

// TestBackupPrunesTrash: a complete run prunes the trash runs older than
// the retention; with NoTrash it leaves the trash alone.
func TestBackupPrunesTrash(t *testing.T) {
	for _, noTrash := range []bool{false, true} {
		_, dstDir, src, dst := syncedPair(t, map[string]string{"d/a": "a"})
		old := time.Now().Add(-8 * 24 * time.Hour).UTC().Format(trashStampFormat)
		write(t, dstDir, filepath.Join(TrashDir, old, "d/x"), "old", t0)
		if _, err := backupD(src, dst, RunOptions{NoTrash: noTrash}); err != nil {
			t.Fatal(err)
		}
		_, err := os.Lstat(filepath.Join(dstDir, TrashDir, old))
		if pruned := errors.Is(err, os.ErrNotExist); pruned == noTrash {
			t.Errorf("NoTrash %v: the old trash run pruned: %v", noTrash, pruned)
		}
	}
}

// TestBackupRootTimeFailure: with the whole root in scope, a root whose
// mtime cannot be given back after the marker's write fails the run.
func TestBackupRootTimeFailure(t *testing.T) {
	_, dstDir, src, local := syncedPair(t, map[string]string{"d/a": "a"})
	if err := os.Remove(filepath.Join(dstDir, ManifestFile)); err != nil { // it recorded DIR d only
		t.Fatal(err)
	}
	dst := faultfs.New(local)
	// Armed by the marker's write, so that only the last Chtimes of the root fails.
	dst.Add(faultfs.Fault{Op: faultfs.Rename, To: MarkerFile, Hook: func() {
		dst.Add(faultfs.Fault{Op: faultfs.Chtimes, Name: "."})
	}})
	_, err := backupD(src, dst, RunOptions{Dirs: []string{"."}, MaxDelete: MaxDelete{Percent: 100}})
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("run: %v, want the injected EIO", err)
	}
}
