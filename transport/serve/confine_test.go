//go:build linux

package serve_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/serve"
)

// snapshot records every entry below dir: type, mode, size, time and
// content, to tell whether anything there was touched.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rec := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rec += " " + string(b)
		}
		out[p] = rec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// escapeTree makes a root holding a symlink to a directory outside
// ("out"), one to a directory inside ("in2") and a FIFO; outside holds a
// secret file.
func escapeTree(t *testing.T) (root, outside string) {
	t.Helper()
	root, outside = t.TempDir(), t.TempDir()
	mustDo(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644))
	mustDo(t, os.Mkdir(filepath.Join(root, "in"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(root, "in", "f"), []byte("inside"), 0o644))
	mustDo(t, os.Symlink(outside, filepath.Join(root, "out")))
	mustDo(t, os.Symlink("in", filepath.Join(root, "in2")))
	mustDo(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	return root, outside
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// escapeOps are requests whose name goes through a symlink: each must
// fail with ELOOP, whether the symlink leads outside or stays inside.
func escapeOps(fsys transport.FS, via string) map[string]func() error {
	f := via + "/secret"
	if via == "in2" {
		f = via + "/f"
	}
	return map[string]func() error{
		"Lstat":      func() error { _, err := fsys.Lstat(f); return err },
		"ReadDir":    func() error { _, err := fsys.ReadDir(via); return err },
		"ReadDirSub": func() error { _, err := fsys.ReadDir(f); return err },
		"Readlink":   func() error { _, err := fsys.Readlink(f); return err },
		"Open":       func() error { _, err := fsys.Open(f); return err },
		"Create":     func() error { _, err := fsys.Create(via+"/new", 0o644); return err },
		"Mkdir":      func() error { return fsys.Mkdir(via+"/d", 0o755) },
		"Symlink":    func() error { return fsys.Symlink("x", via+"/s") },
		"RenameFrom": func() error { return fsys.Rename(f, "stolen") },
		"RenameTo":   func() error { return fsys.Rename("in/f", via+"/planted") },
		"Remove":     func() error { return fsys.Remove(f) },
		"Chmod":      func() error { return fsys.Chmod(f, 0o600) },
		"ChmodLink":  func() error { return fsys.Chmod(via, 0o700) },
		"Chtimes":    func() error { return fsys.Chtimes(f, time.Unix(1, 0)) },
		"Lchown":     func() error { return fsys.(transport.Lchowner).Lchown(f, -1, -1) },
		"LinkFrom":   func() error { return transport.Link(fsys, f, "stolen") },
		"LinkTo":     func() error { return transport.Link(fsys, "in/f", via+"/planted") },
		"Hash":       func() error { _, err := transport.HashFile(fsys, f); return err },
		"HashBlocks": func() error { _, err := fsys.(transport.BlockHasher).HashBlocks(f, 4096); return err },
		"Patch":      func() error { _, err := fsys.(transport.Patcher).OpenPatch(f); return err },
		"CloneFrom":  func() error { return fsys.(transport.Patcher).CloneFile(f, "stolen") },
		"ListTree":   func() error { _, err := fsys.(transport.TreeLister).ListTree(via); return err },
	}
}

// A name through a symlink reaches nothing, inside the root or out of it,
// with openat2 and with the openat walk of older kernels.
func TestConfinedToRoot(t *testing.T) {
	for _, mode := range []string{"openat2", "walk"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "walk" {
				t.Cleanup(serve.ForceWalk())
			}
			root, outside := escapeTree(t)
			fsys := pipeFS(t, root)
			before, beforeRoot := snapshot(t, outside), snapshot(t, root)
			for _, via := range []string{"out", "in2"} {
				for name, op := range escapeOps(fsys, via) {
					err := op()
					if name == "ReadDir" {
						// The symlink itself as the directory to read.
						if err == nil {
							t.Errorf("%s via %s: no error", name, via)
						}
						continue
					}
					if name == "ChmodLink" || name == "ListTree" {
						if err == nil {
							t.Errorf("%s via %s: no error", name, via)
						}
						continue
					}
					if !errors.Is(err, syscall.ELOOP) {
						t.Errorf("%s via %s: %v, want ELOOP", name, via, err)
					}
					var pe *fs.PathError
					if errors.As(err, &pe) && filepath.IsAbs(pe.Path) {
						t.Errorf("%s via %s: the error names a host path: %v", name, via, err)
					}
				}
			}
			if after := snapshot(t, outside); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("outside changed:\n before %v\n after  %v", before, after)
			}
			if after := snapshot(t, root); fmt.Sprint(after) != fmt.Sprint(beforeRoot) {
				t.Errorf("root changed:\n before %v\n after  %v", beforeRoot, after)
			}
		})
	}
}

// A FIFO where a file was expected is refused at once, never opened for
// reading or writing in a way that blocks.
func TestFIFONeverBlocks(t *testing.T) {
	root, _ := escapeTree(t)
	fsys := pipeFS(t, root)
	ops := map[string]func() error{
		"Open":       func() error { _, err := fsys.Open("fifo"); return err },
		"Hash":       func() error { _, err := transport.HashFile(fsys, "fifo"); return err },
		"HashFiles":  func() error { _, err := transport.HashFiles(fsys, []string{"in/f", "fifo"}); return err },
		"HashBlocks": func() error { _, err := fsys.(transport.BlockHasher).HashBlocks("fifo", 4096); return err },
		"Patch":      func() error { _, err := fsys.(transport.Patcher).OpenPatch("fifo"); return err },
		"CloneFrom":  func() error { return fsys.(transport.Patcher).CloneFile("fifo", "copy") },
	}
	for name, op := range ops {
		done := make(chan error, 1)
		go func() { done <- op() }()
		select {
		case err := <-done:
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s of a FIFO: %v, want fs.ErrInvalid", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s of a FIFO still blocked after 30s", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "copy")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed clone left its target: %v", err)
	}
}
