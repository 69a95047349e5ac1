package mirror

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// lstatFailing is a Local whose Lstat fails, with err, on names in the trash.
type lstatFailing struct {
	*transport.Local
	err error
}

func (f *lstatFailing) Lstat(name string) (transport.FileInfo, error) {
	if strings.HasPrefix(name, TrashDir+"/") && strings.Count(name, "/") > 1 {
		return transport.FileInfo{}, &fs.PathError{Op: "lstat", Path: name, Err: f.err}
	}
	return f.Local.Lstat(name)
}

// TestTrashSlotLstatErrorFails: an Lstat error other than "does not exist"
// (a name past PATH_MAX, an I/O error) fails the put at once instead of
// searching for a free slot for ever, and the file stays where it was.
func TestTrashSlotLstatErrorFails(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "d/f", "keep me", time.Now())
	fsys := &lstatFailing{Local: openLocal(t, dir), err: syscall.ENAMETOOLONG}
	done := make(chan error, 1)
	go func() { done <- NewTrash(fsys, time.Now()).Put("d/f") }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.ENAMETOOLONG) {
			t.Fatalf("Put = %v, want ENAMETOOLONG", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Put did not return: the slot search loops")
	}
	if data, err := os.ReadFile(filepath.Join(dir, "d/f")); err != nil || string(data) != "keep me" {
		t.Fatalf("d/f after the failed put: %q, %v", data, err)
	}
}

// TestTrashSlotLongNameTwice: a 255-byte name put three times by runs
// started within one second keeps every version, without growing the name
// past NAME_MAX, and pruning sees the later slots as the same run's.
func TestTrashSlotLongNameTwice(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("n", 255)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, content := range []string{"one", "two", "three"} {
		write(t, dir, long, content, start)
		trash := NewTrash(openLocal(t, dir), start.Add(time.Duration(i)*time.Millisecond))
		if err := trash.Put(long); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	var got []string
	for _, run := range []string{"20260102T030405Z", "20260102T030405Z+1", "20260102T030405Z+2"} {
		data, err := os.ReadFile(filepath.Join(dir, TrashDir, run, long))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(data))
	}
	if strings.Join(got, ",") != "one,two,three" {
		t.Fatalf("trash holds %v, want one, two, three", got)
	}
	pruned, err := PruneTrash(openLocal(t, dir), time.Hour, start.Add(2*time.Hour))
	if err != nil || len(pruned) != 3 {
		t.Fatalf("prune = %v, %v; want the three slots of the run", pruned, err)
	}
}

// TestTrashSlotFileWhereDirNeeded: a file put by an earlier run of the same
// second stands where a later put needs a directory; the later put goes to
// the next slot rather than failing.
func TestTrashSlotFileWhereDirNeeded(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	write(t, dir, "a", "file a", start)
	if err := NewTrash(openLocal(t, dir), start).Put("a"); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a/b", "file a/b", start)
	if err := NewTrash(openLocal(t, dir), start).Put("a/b"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, TrashDir, "20260102T030405Z+1", "a/b"))
	if err != nil || string(data) != "file a/b" {
		t.Fatalf("a/b in the trash: %q, %v", data, err)
	}
}
