package mirror

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

// syncedPair makes a source and a mirror, stamps them as a pair of target
// "elixir" and runs one backup of DIR d, so that both hold files.
func syncedPair(t *testing.T, files map[string]string) (srcDir, dstDir string, src, dst *transport.Local) {
	t.Helper()
	srcDir, dstDir = t.TempDir(), t.TempDir()
	writeTree(t, srcDir, files)
	src, dst = openLocal(t, srcDir), openLocal(t, dstDir)
	if _, _, err := Init(src, dst, "elixir", false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(context.Background(), src, dst, RunOptions{Target: "elixir", Dirs: []string{"d"}}); err != nil {
		t.Fatal(err)
	}
	return srcDir, dstDir, src, dst
}

// wantRefusal fails unless err is a *Refusal of rule.
func wantRefusal(t *testing.T, err error, rule string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, ErrRefused) || r.Rule != rule {
		t.Fatalf("error %v, want a refusal %q", err, rule)
	}
}

// TestBackupFencesAgainUnderTheLock: DESIGN §3 "checked before anything is
// written". The markers are read again once the lock is held: a promote
// of the mirror that lands between the first fence and the lock (another
// process, at the moment the lock is created) refuses the run, and the
// promoted copy gets nothing from the old source.
func TestBackupFencesAgainUnderTheLock(t *testing.T) {
	srcDir, dstDir, src, local := syncedPair(t, map[string]string{"d/a": "a"})
	write(t, srcDir, "d/new", "written on the old source after the failover", t0)
	dm, err := ReadMarker(local)
	if err != nil {
		t.Fatal(err)
	}
	promoted := *dm
	promoted.Role, promoted.Epoch, promoted.Synced = RoleSource, dm.Epoch+1, nil
	dst := faultfs.New(local, faultfs.Fault{Op: faultfs.Create, Times: 1, Hook: func() {
		if err := WriteMarker(local, &promoted); err != nil {
			t.Error(err)
		}
	}})
	before := readTree(t, dstDir)
	_, err = Backup(context.Background(), src, dst, RunOptions{Target: "elixir", Dirs: []string{"d"}})
	if len(dst.Faulted()) != 0 || len(dst.Calls()) == 0 {
		t.Fatalf("calls on the mirror: %v", dst.Calls())
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("backup onto a copy promoted while the lock was taken: %v, want a refusal", err)
	}
	after := readTree(t, dstDir)
	delete(before, MarkerFile)
	delete(after, MarkerFile)
	if d := diffTrees(before, after); d != "" {
		t.Errorf("the promoted copy changed:\n%s", d)
	}
}

// TestRestoreMaxDelete: DESIGN §5 "restore never deletes on the source
// unless asked", and then within max-delete. With --delete, more
// deletions than the limit refuse the restore before anything is written
// (the source keeps every file); within the limit they happen, into the
// source's trash; without --delete nothing is deleted.
func TestRestoreMaxDelete(t *testing.T) {
	files := map[string]string{"d/a": "a", "d/b": "b", "d/c": "c", "d/e": "e"}
	extra := map[string]string{"d/x1": "only on the source", "d/x2": "only on the source"}
	tests := []struct {
		name      string
		opt       RunOptions
		wantRule  string
		wantGone  bool // the extra files left the source (into its trash)
		wantTrash bool
	}{
		{name: "without delete", opt: RunOptions{}},
		{name: "over the count", opt: RunOptions{Delete: true, MaxDelete: MaxDelete{Count: 1}}, wantRule: "max-delete"},
		{name: "none allowed", opt: RunOptions{Delete: true, MaxDelete: MaxDelete{Count: -1}}, wantRule: "max-delete"},
		{name: "over the share", opt: RunOptions{Delete: true, MaxDelete: MaxDelete{Percent: 20}}, wantRule: "max-delete"},
		{name: "within the limit", opt: RunOptions{Delete: true, MaxDelete: MaxDelete{Count: 2}}, wantGone: true, wantTrash: true},
		{name: "within, no trash", opt: RunOptions{Delete: true, MaxDelete: MaxDelete{Count: 2}, NoTrash: true}, wantGone: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, _, src, dst := syncedPair(t, files)
			writeTree(t, srcDir, extra)
			before := readTree(t, srcDir)
			tc.opt.Target, tc.opt.Dirs = "elixir", []string{"d"}
			_, err := Restore(context.Background(), dst, src, tc.opt)
			if tc.wantRule != "" {
				wantRefusal(t, err, tc.wantRule)
				if d := diffTrees(before, readTree(t, srcDir)); d != "" {
					t.Fatalf("a refused restore changed the source:\n%s", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for k, v := range before {
				want[k] = v
			}
			got := readTree(t, srcDir)
			if tc.wantGone {
				for k := range extra {
					delete(want, k)
				}
			}
			trashed := 0
			for p, content := range got {
				if strings.HasPrefix(p, TrashDir+"/") {
					if content != "only on the source" {
						t.Errorf("%s in the trash holds %q", p, content)
					}
					trashed++
					delete(got, p)
				}
			}
			if want := map[bool]int{true: len(extra)}[tc.wantTrash]; trashed != want {
				t.Errorf("%d files in the source's trash, want %d", trashed, want)
			}
			if d := diffTrees(want, got); d != "" {
				t.Errorf("source after the restore:\n%s", d)
			}
		})
	}
}
