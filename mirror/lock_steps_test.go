package mirror

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

// TestLockStaleness: which found locks are stale. A lock of this host
// without a process id (pid 0) is judged by its age like a foreign one,
// never by signalling pid 0 (this process's group, always alive); with
// no staleness limit (0) a foreign lock is never stale.
func TestLockStaleness(t *testing.T) {
	host, _ := os.Hostname()
	long := time.Now().Add(-48 * time.Hour)
	for _, tc := range []struct {
		name       string
		info       LockInfo
		staleAfter time.Duration
		want       bool
	}{
		{"this host, no pid, old", LockInfo{Host: host, PID: 0, Started: long}, 24 * time.Hour, true},
		{"this host, no pid, recent", LockInfo{Host: host, PID: 0, Started: time.Now()}, 24 * time.Hour, false},
		{"this host, live pid", LockInfo{Host: host, PID: os.Getpid(), Started: long}, 24 * time.Hour, false},
		{"foreign, old, no limit", LockInfo{Host: "elsewhere", PID: 1, Started: long}, 0, false},
		{"foreign, old", LockInfo{Host: "elsewhere", PID: 1, Started: long}, 24 * time.Hour, true},
	} {
		if got := tc.info.stale(host, tc.staleAfter); got != tc.want {
			t.Errorf("%s: stale %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLockRaceGivesUp: when the lock file is always there again after a
// stale one was removed (another run racing for it), AcquireLock tries
// twice and refuses, never loops.
func TestLockRaceGivesUp(t *testing.T) {
	dir := t.TempDir()
	stale := fmt.Sprintf("host = \"elsewhere\"\npid = 1\nstarted = %s\ncommand = \"backup elixir\"\n",
		time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	// The exclusive create always finds a lock, as when another run takes
	// it each time between our removal of the stale one and our create.
	fsys := faultfs.New(openLocal(t, dir), faultfs.Fault{Op: faultfs.Create, Name: LockFile, Err: fs.ErrExist})
	done := make(chan error, 1)
	go func() {
		_, _, err := AcquireLock(fsys, "backup elixir", 24*time.Hour)
		done <- err
	}()
	select {
	case err := <-done:
		wantRefusal(t, err, "lock-held")
		if !strings.Contains(err.Error(), "raced") {
			t.Errorf("refusal %v does not say another run raced for the lock", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("AcquireLock still trying after 30s")
	}
	creates := 0
	for _, c := range fsys.Calls() {
		if c.Op == faultfs.Create && c.Name == LockFile {
			creates++
		}
	}
	if creates != 2 {
		t.Errorf("%d attempts to create the lock, want 2", creates)
	}
}

// TestGroupCommitBatches: files wait for their batch's sync: a batch is
// synced once commitFiles wait, and the rest with the last one — one sync
// per batch (besides the committer's probe), none per file.
func TestGroupCommitBatches(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	for i := range commitFiles + 1 {
		write(t, srcDir, fmt.Sprintf("d/f%04d", i), "x", t0)
	}
	dst := faultfs.New(openLocal(t, dstDir))
	src := openLocal(t, srcDir)
	p, err := MakePlan(context.Background(), src, dst, Options{Dirs: []string{"d"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), p, src, dst, ApplyOptions{Workers: 1})
	if err != nil || res.Err() != nil {
		t.Fatal(err, res.Err())
	}
	syncs, fileSyncs := 0, 0
	for _, c := range dst.Calls() {
		switch c.Op {
		case faultfs.SyncFS:
			syncs++
		case faultfs.Sync:
			fileSyncs++
		}
	}
	if syncs != 3 || fileSyncs != 0 || res.Files != commitFiles+1 {
		t.Errorf("%d syncfs calls (want the probe and 2 batches), %d file syncs (want 0), %d files", syncs, fileSyncs, res.Files)
	}
}

// TestRefusalText: a refusal says what was found, and what to do when
// there is a remedy.
func TestRefusalText(t *testing.T) {
	if got := (&Refusal{Rule: "r", Found: "found"}).Error(); got != "refused: found" {
		t.Errorf("without remedy: %q", got)
	}
	if got := (&Refusal{Rule: "r", Found: "found", Remedy: "do"}).Error(); got != "refused: found\n  what to do: do" {
		t.Errorf("with remedy: %q", got)
	}
}
