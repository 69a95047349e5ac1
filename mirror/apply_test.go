package mirror

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// writeTree writes files (name: content; content "->x" makes a symlink
// to x) under root, each with mtime t0.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if target, ok := strings.CutPrefix(content, "->"); ok {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		write(t, root, name, content, t0)
	}
}

// readTree returns every file (its content) and symlink ("->" target)
// under root, by path; directories are left out.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			got[rel] = "->" + target
			return err
		}
		b, err := os.ReadFile(p)
		got[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// diffTrees describes how got differs from want, "" when it does not.
func diffTrees(want, got map[string]string) string {
	var d []string
	for p, w := range want {
		if g, ok := got[p]; !ok {
			d = append(d, "missing "+p)
		} else if g != w {
			d = append(d, p+": "+g+", want "+w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			d = append(d, "extra "+p)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

// planAndApply plans DIR d of src onto dst (with deletions) and applies the
// plan with one worker.
func planAndApply(t *testing.T, src, dst transport.FS, trash *Trash) (*Plan, *Result) {
	t.Helper()
	p, err := MakePlan(context.Background(), src, dst, Options{Dirs: []string{"d"}, Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), p, src, dst, ApplyOptions{Workers: 1, Trash: trash})
	if err != nil {
		t.Fatal(err)
	}
	return p, res
}

// TestApplyNoDeletionAfterAFailure: DESIGN §5 "deletions come after every
// transfer of the run succeeded, and none happen if any source read
// failed". Whatever read or write fails — a source directory that cannot
// be listed, a file that cannot be opened or read, a temporary that cannot
// be created, written or renamed — the run reports it and deletes nothing:
// not the file due for deletion, not what the unlisted directory holds on
// the mirror. And each file arrives whole or not at all: the mirror's old
// content stays under the real name, and no temporary is left.
func TestApplyNoDeletionAfterAFailure(t *testing.T) {
	srcFiles := map[string]string{"d/keep": "keep", "d/f": "new content", "d/sub/x": "x"}
	dstFiles := map[string]string{"d/keep": "keep", "d/f": "old", "d/sub/x": "x", "d/sub/y": "only on the mirror", "d/gone": "deleted on the source"}
	tests := []struct {
		name     string
		src, dst []faultfs.Fault
	}{
		{name: "source directory unlisted", src: []faultfs.Fault{{Op: faultfs.ReadDir, Name: "d/sub"}}},
		{name: "source file unopened", src: []faultfs.Fault{{Op: faultfs.Open, Name: "d/f"}}},
		{name: "source file unread", src: []faultfs.Fault{{Op: faultfs.Read, Name: "d/f"}}},
		{name: "temporary not created", dst: []faultfs.Fault{{Op: faultfs.Create, Name: "d/.backup-tmp-*-f"}}},
		{name: "temporary not written", dst: []faultfs.Fault{{Op: faultfs.Write, Name: "d/.backup-tmp-*-f"}}},
		{name: "temporary not synced", dst: []faultfs.Fault{{Op: faultfs.Sync, Name: "d/.backup-tmp-*-f"}}},
		{name: "rename over the real name fails", dst: []faultfs.Fault{{Op: faultfs.Rename, To: "d/f"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, srcFiles)
			writeTree(t, dstDir, dstFiles)
			src := faultfs.New(openLocal(t, srcDir), tc.src...)
			dst := faultfs.New(openLocal(t, dstDir), tc.dst...)
			p, res := planAndApply(t, src, dst, nil)
			if p.Totals.Deletes == 0 {
				t.Fatal("the plan deletes nothing: the test proves nothing")
			}
			if err := errors.Join(errors.Join(p.SourceErrors...), res.Err()); !errors.Is(err, syscall.EIO) {
				t.Fatalf("run errors %v, want the injected EIO", err)
			}
			if !res.DeletesSkipped || res.Deleted != 0 {
				t.Errorf("DeletesSkipped %v, Deleted %d: want the deletions held back", res.DeletesSkipped, res.Deleted)
			}
			want := map[string]string{}
			for k, v := range dstFiles {
				want[k] = v
			}
			if tc.src != nil && tc.src[0].Op == faultfs.ReadDir {
				want["d/f"] = srcFiles["d/f"] // readable, so copied
			}
			if d := diffTrees(want, readTree(t, dstDir)); d != "" {
				t.Errorf("mirror after the failed run:\n%s", d)
			}
		})
	}
}

// TestApplyTrashKeepsWhatItReplaces: DESIGN §5 "deleted and replaced
// mirror files go to .backup-trash/<run time>/". A file replaced by a new
// version, a symlink replaced by one pointing elsewhere, and a deleted
// file are all in the run's trash with their old content or target, on a
// copy that can hard-link (the real name never missing) and on one that
// cannot (moved aside instead).
func TestApplyTrashKeepsWhatItReplaces(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults []faultfs.Fault
	}{
		{"with hard links", nil},
		{"without hard links", []faultfs.Fault{{Op: faultfs.Link, Err: transport.ErrNotSupported}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, map[string]string{"d/f": "new content", "d/link": "->b", "d/same": "same"})
			writeTree(t, dstDir, map[string]string{"d/f": "old", "d/link": "->a", "d/same": "same", "d/gone": "deleted on the source"})
			dst := faultfs.New(openLocal(t, dstDir), c.faults...)
			trash := NewTrash(dst, t0)
			_, res := planAndApply(t, openLocal(t, srcDir), dst, trash)
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(filepath.FromSlash(trash.Dir()), "d")
			want := map[string]string{
				"d/f": "new content", "d/link": "->b", "d/same": "same",
				filepath.Join(in, "f"): "old", filepath.Join(in, "link"): "->a", filepath.Join(in, "gone"): "deleted on the source",
			}
			if d := diffTrees(want, readTree(t, dstDir)); d != "" {
				t.Errorf("mirror and trash after the run:\n%s", d)
			}
		})
	}
}

// TestApplyTrashFailureReplacesNothing: when the old content cannot be
// kept in the trash, the file (or symlink) is not replaced: the old
// version stays under its name, the error is the run's, no temporary is
// left, and no deletion happens.
func TestApplyTrashFailureReplacesNothing(t *testing.T) {
	for _, name := range []string{"f", "link"} {
		t.Run(name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, map[string]string{"d/f": "new content", "d/link": "->b"})
			old := map[string]string{"d/f": "old", "d/link": "->a", "d/gone": "deleted on the source"}
			writeTree(t, dstDir, old)
			dst := faultfs.New(openLocal(t, dstDir), faultfs.Fault{Op: faultfs.Link, Name: "d/" + name})
			trash := NewTrash(dst, t0)
			_, res := planAndApply(t, openLocal(t, srcDir), dst, trash)
			if !errors.Is(res.Err(), syscall.EIO) {
				t.Fatalf("run errors %v, want the injected EIO", res.Err())
			}
			got := readTree(t, dstDir)
			for p := range got {
				if strings.Contains(p, transport.TempPrefix) {
					t.Errorf("temporary left: %s", p)
				}
				if strings.HasPrefix(p, TrashDir) {
					delete(got, p) // the other one's old version, kept
				}
			}
			want := map[string]string{"d/f": "new content", "d/link": "->b", "d/gone": old["d/gone"]}
			want["d/"+name] = old["d/"+name]
			if d := diffTrees(want, got); d != "" {
				t.Errorf("mirror after the failed trash link:\n%s", d)
			}
		})
	}
}
