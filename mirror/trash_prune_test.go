package mirror

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

// TestPruneTrash: the run directories older than the retention go, a
// run's later slots ("<stamp>+N") with them; younger runs and names that
// are no run's stay; no trash is no error; a trash that cannot be listed
// or a run that cannot be removed is.
func TestPruneTrash(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	stamp := func(age time.Duration) string { return now.Add(-age).Format(trashStampFormat) }
	dir := t.TempDir()
	fsys := openLocal(t, dir)
	if pruned, err := PruneTrash(fsys, time.Hour, now); err != nil || pruned != nil {
		t.Fatalf("no trash: %v, %v", pruned, err)
	}
	old, oldSlot, young := stamp(8*24*time.Hour), stamp(8*24*time.Hour)+"+1", stamp(time.Hour)
	for _, run := range []string{old, oldSlot, young, "notes"} {
		write(t, dir, filepath.Join(TrashDir, run, "d/f"), run, t0)
	}
	pruned, err := PruneTrash(fsys, 7*24*time.Hour, now)
	slices.Sort(pruned)
	if err != nil || !slices.Equal(pruned, []string{old, oldSlot}) {
		t.Errorf("pruned %v, %v; want %s and its slot", pruned, err, old)
	}
	left, _ := os.ReadDir(filepath.Join(dir, TrashDir))
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{young, "notes"}) {
		t.Errorf("trash holds %v, want %s and notes", names, young)
	}
	// Exactly at the retention a run stays.
	if pruned, err := PruneTrash(fsys, time.Hour, now); err != nil || len(pruned) != 0 {
		t.Errorf("a run exactly as old as the retention: pruned %v, %v", pruned, err)
	}

	for _, tc := range []struct {
		name  string
		fault faultfs.Fault
	}{
		{"unlistable trash", faultfs.Fault{Op: faultfs.ReadDir, Name: TrashDir}},
		{"run not removable", faultfs.Fault{Op: faultfs.Remove, Name: TrashDir + "/*/d/f"}},
	} {
		write(t, dir, filepath.Join(TrashDir, old, "d/f"), "old again", t0)
		_, err := PruneTrash(faultfs.New(fsys, tc.fault), 7*24*time.Hour, now)
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("%s: %v, want the injected EIO", tc.name, err)
		}
	}
}

// TestTrashKeep: Keep links the file into the run's trash, its name kept;
// where the copy cannot link it says so (ErrNotSupported), and the caller
// moves the file instead.
func TestTrashKeep(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "d/f", "content", t0)
	local := openLocal(t, dir)
	trash := NewTrash(local, t0)
	if err := trash.Keep("d/f"); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(dir, "d/f"))
	b, err := os.Stat(filepath.Join(dir, filepath.FromSlash(trash.Dir()), "d/f"))
	if err != nil || !os.SameFile(a, b) {
		t.Errorf("trash's d/f is not a link to d/f: %v", err)
	}
	noLink := NewTrash(faultfs.New(local, faultfs.Fault{Op: faultfs.Link, Err: transport.ErrNotSupported}), t0.Add(time.Hour))
	if err := noLink.Keep("d/f"); !errors.Is(err, transport.ErrNotSupported) {
		t.Errorf("Keep without links: %v, want ErrNotSupported", err)
	}
}
