//go:build linux

package serve_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
)

// capTree makes a tree with files, a hard link, a symlink, a FIFO, an
// empty and a nested directory, and a non-UTF-8 name.
func capTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mustDo(t, os.MkdirAll(filepath.Join(root, "d/e"), 0o755))
	mustDo(t, os.Mkdir(filepath.Join(root, "empty"), 0o700))
	for i, n := range []string{"a", "d/b", "d/e/caf\xe9", "big"} {
		size := 1000 * (i + 1)
		if n == "big" {
			size = 3<<20 + 17 // several chunks, a short last block
		}
		mustDo(t, os.WriteFile(filepath.Join(root, n), bytes.Repeat([]byte{byte('a' + i)}, size), 0o640))
	}
	mustDo(t, os.Link(filepath.Join(root, "a"), filepath.Join(root, "d/a-link")))
	mustDo(t, os.Symlink("../a", filepath.Join(root, "d/sym")))
	return root
}

// walkLocal lists the tree the fallback way: ReadDir directory by
// directory on Local.
func walkLocal(t *testing.T, l transport.FS, dir string) []transport.TreeEntry {
	t.Helper()
	entries, err := l.ReadDir(dir)
	mustDo(t, err)
	var out []transport.TreeEntry
	for _, e := range entries {
		p := path.Join(dir, e.Name)
		te := transport.TreeEntry{Path: p, FileInfo: e}
		if e.IsSymlink() {
			te.Link, err = l.Readlink(p)
			mustDo(t, err)
		}
		out = append(out, te)
		if e.IsDir() {
			out = append(out, walkLocal(t, l, p)...)
		}
	}
	return out
}

// The helper's capabilities give what Local and the fallback helpers give
// for the same tree: listings (hard link numbers included), sums, block
// sums, clones, patches and files with holes.
func TestCapabilitiesMatchLocal(t *testing.T) {
	root := capTree(t)
	local, err := transport.OpenLocal(root)
	mustDo(t, err)
	defer local.Close()
	h := pipeFS(t, root)

	want := walkLocal(t, local, ".")
	got, err := h.(transport.TreeLister).ListTree(".")
	mustDo(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListTree differs from Local's walk:\n got  %+v\n want %+v", got, want)
	}
	for _, e := range want {
		fi, err := h.Lstat(e.Path)
		mustDo(t, err)
		if !reflect.DeepEqual(fi, e.FileInfo) {
			t.Errorf("Lstat(%q) = %+v, Local %+v", e.Path, fi, e.FileInfo)
		}
	}
	names := []string{"a", "d/b", "d/e/caf\xe9", "big"}
	sums, err := transport.HashFiles(h, names)
	mustDo(t, err)
	for i, n := range names {
		if s, err := transport.HashFile(local, n); err != nil || s != sums[i] {
			t.Errorf("HashFiles[%q] = %v, Local %v (%v)", n, sums[i], s, err)
		}
	}
	blocks, err := h.(transport.BlockHasher).HashBlocks("big", 1<<20)
	mustDo(t, err)
	if lb, err := local.HashBlocks("big", 1<<20); err != nil || !reflect.DeepEqual(blocks, lb) || len(blocks) != 4 {
		t.Errorf("HashBlocks = %d sums, Local %d (%v)", len(blocks), len(lb), err)
	}

	// Clone, then patch one block and cut the end, as the delta transfer does.
	p := h.(transport.Patcher)
	mustDo(t, p.CloneFile("big", "big.new"))
	pf, err := p.OpenPatch("big.new")
	mustDo(t, err)
	_, err = pf.WriteAt([]byte("PATCH"), 1<<20)
	mustDo(t, err)
	mustDo(t, pf.Truncate(2<<20))
	mustDo(t, pf.Sync())
	mustDo(t, pf.Close())
	wantNew, _ := os.ReadFile(filepath.Join(root, "big"))
	wantNew = wantNew[:2<<20]
	copy(wantNew[1<<20:], "PATCH")
	if b, _ := os.ReadFile(filepath.Join(root, "big.new")); !bytes.Equal(b, wantNew) {
		t.Errorf("clone + patch gave %d bytes, not the patched content", len(b))
	}

	// A file written with a hole at the start and the end.
	w, err := h.Create("holes", 0o600)
	mustDo(t, err)
	hw, ok := w.(transport.HoleWriter)
	if !ok {
		t.Fatal("the helper's WriteFile is not a HoleWriter")
	}
	_, err = hw.WriteAt([]byte("mid"), 1<<20)
	mustDo(t, err)
	mustDo(t, hw.Truncate(2<<20))
	mustDo(t, hw.Sync())
	mustDo(t, hw.Close())
	b, _ := os.ReadFile(filepath.Join(root, "holes"))
	if len(b) != 2<<20 || string(b[1<<20:1<<20+3]) != "mid" || bytes.ContainsAny(b[:1<<20], "m") {
		t.Errorf("file with holes: %d bytes, wrong content", len(b))
	}
	mustDo(t, h.(transport.FSSyncer).SyncFS(".", "d"))
}
