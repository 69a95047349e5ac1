package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

// restoreD runs Restore of target elixir, DIR d, from mirror onto source.
func restoreD(mirror, source transport.FS, opt RunOptions) (*Report, error) {
	opt.Target, opt.Dirs = "elixir", []string{"d"}
	return Restore(context.Background(), mirror, source, opt)
}

// emptySource empties the source root (a new disk), marker included.
func emptySource(t *testing.T, srcDir string) {
	t.Helper()
	entries, err := os.ReadDir(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(srcDir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestoreReplacementDisk: an empty, unmarked source is filled from the
// mirror and stamped as the pair's source: a new copy id, the pair's, at
// the newest epoch the mirror knows (its own, or the source's it synced
// from). A restore that fails part way stamps nothing: the disk is not
// a complete copy, and its journal stays.
func TestRestoreReplacementDisk(t *testing.T) {
	for _, tc := range []struct {
		name       string
		syncedAt   int64 // the epoch the mirror's synced record names; 0: no record
		wantEpoch  int64
		failOpen   bool
		wantMarker bool
	}{
		{"synced record ahead", 3, 3, false, true},
		{"no synced record", 0, 1, false, true},
		{"a read fails", 0, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"d/a": "a", "d/sub/b": "b"}
			srcDir, _, source, local := syncedPair(t, files)
			dm, err := ReadMarker(local)
			if err != nil {
				t.Fatal(err)
			}
			if tc.syncedAt == 0 {
				dm.Synced = nil
			} else {
				dm.Synced.Epoch = tc.syncedAt
			}
			if err := WriteMarker(local, dm); err != nil {
				t.Fatal(err)
			}
			emptySource(t, srcDir)
			mirror := faultfs.New(local)
			if tc.failOpen {
				mirror.Add(faultfs.Fault{Op: faultfs.Open, Name: "d/sub/b"})
			}
			_, err = restoreD(mirror, source, RunOptions{})
			if tc.failOpen != errors.Is(err, syscall.EIO) {
				t.Fatalf("restore: %v", err)
			}
			sm, err := ReadMarker(source)
			if !tc.wantMarker {
				if !errors.Is(err, ErrNoMarker) {
					t.Errorf("an incomplete restore stamped the disk: %v %v", sm, err)
				}
				if j, err := readJournal(source); err != nil || !slices.Equal(j.Paths, []string{"d/sub/b"}) {
					t.Errorf("journal on the source %+v, %v; want the failed path", j, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sm.Role != RoleSource || sm.Epoch != tc.wantEpoch || sm.Pair != dm.Pair || sm.Target != "elixir" || sm.Copy == dm.Copy || sm.Copy == "" {
				t.Errorf("stamped %+v; want the pair's source at epoch %d, a new copy (mirror %+v)", sm, tc.wantEpoch, dm)
			}
			got := readTree(t, srcDir)
			for p, c := range files {
				if got[p] != c {
					t.Errorf("%s: %q, want %q", p, got[p], c)
				}
			}
			if _, err := os.Lstat(filepath.Join(srcDir, JournalFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal left after a complete restore: %v", err)
			}
		})
	}
}

// TestRestoreLockAndFences: restore takes the target's lock, on the
// mirror: held by a live run, the restore is refused and the source
// unchanged; a marker that changes while the lock is being taken is read
// again under it; a dry run writes nothing and takes no lock.
func TestRestoreLockAndFences(t *testing.T) {
	t.Run("lock held", func(t *testing.T) {
		srcDir, dstDir, source, mirror := syncedPair(t, map[string]string{"d/a": "a"})
		host, _ := os.Hostname()
		lock := fmt.Sprintf("host = %q\npid = %d\nstarted = 2026-01-01T00:00:00Z\ncommand = \"backup elixir\"\n", host, os.Getpid())
		if err := os.WriteFile(filepath.Join(dstDir, LockFile), []byte(lock), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(srcDir, "d/a")); err != nil {
			t.Fatal(err)
		}
		before := readTree(t, srcDir)
		_, err := restoreD(mirror, source, RunOptions{})
		wantRefusal(t, err, "lock-held")
		if d := diffTrees(before, readTree(t, srcDir)); d != "" {
			t.Errorf("a refused restore changed the source:\n%s", d)
		}
	})
	t.Run("fenced again under the lock", func(t *testing.T) {
		srcDir, _, source, local := syncedPair(t, map[string]string{"d/a": "a"})
		if err := os.Remove(filepath.Join(srcDir, "d/a")); err != nil {
			t.Fatal(err)
		}
		sm, err := ReadMarker(source)
		if err != nil {
			t.Fatal(err)
		}
		other := *sm
		other.Pair = "another pair"
		mirror := faultfs.New(local, faultfs.Fault{Op: faultfs.Create, Name: LockFile, Times: 1, Hook: func() {
			if err := WriteMarker(source, &other); err != nil {
				t.Error(err)
			}
		}})
		before := readTree(t, srcDir)
		_, err = restoreD(mirror, source, RunOptions{})
		var r *Refusal
		if !errors.As(err, &r) {
			t.Fatalf("restore onto a copy re-marked while the lock was taken: %v, want a refusal", err)
		}
		after := readTree(t, srcDir)
		delete(before, MarkerFile)
		delete(after, MarkerFile)
		if d := diffTrees(before, after); d != "" {
			t.Errorf("the source changed:\n%s", d)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		srcDir, dstDir, source, mirror := syncedPair(t, map[string]string{"d/a": "a"})
		if err := os.Remove(filepath.Join(srcDir, "d/a")); err != nil {
			t.Fatal(err)
		}
		srcBefore, dstBefore := readTree(t, srcDir), readTree(t, dstDir)
		rep, err := restoreD(mirror, faultfs.New(source), RunOptions{DryRun: true})
		if err != nil || rep.Plan == nil || len(rep.Plan.Actions) == 0 {
			t.Fatalf("dry run: %v (plan %v)", err, rep.Plan)
		}
		if d := diffTrees(srcBefore, readTree(t, srcDir)) + diffTrees(dstBefore, readTree(t, dstDir)); d != "" {
			t.Errorf("a dry run wrote:\n%s", d)
		}
	})
}

// TestRestoreReplacesIntoTrash: a file changed on the source is put back
// as the mirror holds it, the source's version kept in the source's trash
// (with NoTrash nowhere); without Delete a file only on the source stays;
// the source's marker is left as it was.
func TestRestoreReplacesIntoTrash(t *testing.T) {
	for _, noTrash := range []bool{false, true} {
		srcDir, _, source, mirror := syncedPair(t, map[string]string{"d/a": "a", "d/b": "b"})
		write(t, srcDir, "d/a", "changed on the source", t0)
		write(t, srcDir, "d/only", "only on the source", t0)
		markerBefore, err := os.ReadFile(filepath.Join(srcDir, MarkerFile))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := restoreD(mirror, source, RunOptions{NoTrash: noTrash}); err != nil {
			t.Fatal(err)
		}
		// A marked source keeps its identity: only a replacement disk is stamped.
		if markerAfter, _ := os.ReadFile(filepath.Join(srcDir, MarkerFile)); string(markerAfter) != string(markerBefore) {
			t.Errorf("restore rewrote the source's marker:\n%s\nwas:\n%s", markerAfter, markerBefore)
		}
		got := readTree(t, srcDir)
		if got["d/a"] != "a" || got["d/only"] != "only on the source" {
			t.Errorf("NoTrash %v: source d/a %q, d/only %q", noTrash, got["d/a"], got["d/only"])
		}
		want := []string{"changed on the source"}
		if noTrash {
			want = nil
		}
		if kept := trashedContents(got); !slices.Equal(kept, want) {
			t.Errorf("NoTrash %v: source's trash %q, want %q", noTrash, kept, want)
		}
	}
}

// TestRestoreNothingToDo: a restore with nothing to copy writes nothing on
// the source; one that finds the journal of a cut restore there settles
// it (removes it) even when nothing is left to copy.
func TestRestoreNothingToDo(t *testing.T) {
	srcDir, _, local, mirror := syncedPair(t, map[string]string{"d/a": "a"})
	source := faultfs.New(local)
	if _, err := restoreD(mirror, source, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range source.Calls() {
		switch c.Op {
		case faultfs.Create, faultfs.Rename, faultfs.Remove, faultfs.Mkdir, faultfs.Chmod, faultfs.Chtimes, faultfs.Symlink, faultfs.Link:
			t.Errorf("a restore with nothing to do wrote on the source: %s", c)
		}
	}
	if err := writeJournal(local, journal{Temps: TempTokens{"0123456789abcdef": true}, Paths: []string{"d/a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := restoreD(mirror, local, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(srcDir, JournalFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cut restore's journal stays: %v", err)
	}
}
