package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// failingSync is a Local whose SyncFS works once (the committer's probe)
// and then fails, as a disk that fills or breaks mid-run.
type failingSync struct {
	*transport.Local
	calls int
}

func (f *failingSync) SyncFS(dirs ...string) error {
	f.calls++
	if f.calls > 1 {
		return errors.New("syncfs: input/output error")
	}
	return f.Local.SyncFS(dirs...)
}

// TestGroupCommitSyncFailureRenamesNothing: when the batch's sync fails,
// no file of the batch reaches its real name, no temporary stays, the
// error is the run's, and no deletion happens.
func TestGroupCommitSyncFailureRenamesNothing(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 5 {
		write(t, src, fmt.Sprintf("d/f%d", i), strings.Repeat("x", i), t0)
	}
	write(t, dst, "d/old", "to delete", t0)
	s := openLocal(t, src)
	d := &failingSync{Local: openLocal(t, dst)}
	p, err := MakePlan(context.Background(), s, d, Options{Dirs: []string{"d"}, Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), p, s, d, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() == nil || !strings.Contains(res.Err().Error(), "input/output error") {
		t.Fatalf("run error %v, want the sync failure", res.Err())
	}
	if d.calls < 2 {
		t.Fatalf("the group commit was not used (%d SyncFS calls)", d.calls)
	}
	left, _ := filepath.Glob(filepath.Join(dst, "d", "*"))
	if len(left) != 1 || filepath.Base(left[0]) != "old" {
		t.Fatalf("mirror holds %v, want only the old file (nothing renamed, nothing deleted)", left)
	}
	if _, err := os.Stat(filepath.Join(dst, "d/old")); err != nil {
		t.Fatalf("a deletion happened after a failed sync: %v", err)
	}
}
