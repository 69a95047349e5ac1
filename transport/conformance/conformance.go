// Package conformance checks that an implementation of transport.FS keeps
// the contract written in the transport package: names, errors, symlinks,
// atomic replacement, metadata, hostile names, big files, concurrency and
// the optional capabilities (Linker, Lchowner, Hasher, Runner).
//
// The checks that symlinks cannot lead outside the root point symlinks at
// directories of this machine made with t.TempDir, and then look there: run
// them against endpoints whose files live on this machine (Local, or SFTP
// to a local sshd from transport/sshtest).
package conformance

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Run runs the suite. newFS must return a new FS over an empty directory,
// closed by the function itself through t.Cleanup; each check calls it
// once, from its own subtest.
func Run(t *testing.T, newFS func(t *testing.T) transport.FS) {
	RunWith(t, newFS, Options{})
}

// Options adjust RunWith.
type Options struct {
	// Skip names checks (subtest names, e.g. "Link") to skip, with the
	// reason, for known gaps of an implementation.
	Skip map[string]string
}

// RunWith is Run with options.
func RunWith(t *testing.T, newFS func(t *testing.T) transport.FS, opt Options) {
	checks := []struct {
		name string
		fn   func(t *testing.T, fsys transport.FS)
	}{
		{"InvalidNames", testInvalidNames},
		{"Root", testRoot},
		{"ReadDirSorted", testReadDir},
		{"Errors", testErrors},
		{"CreateExclusive", testCreateExcl},
		{"Mkdir", testMkdir},
		{"Symlink", testSymlink},
		{"Rename", testRename},
		{"Remove", testRemove},
		{"Chmod", testChmod},
		{"Chtimes", testChtimes},
		{"ChtimesSymlink", testChtimesSymlink},
		{"SymlinkEscape", testSymlinkEscape},
		{"DotDotSymlinkEscape", testDotDotEscape},
		{"OpenSymlinkOutside", testOpenSymlinkOutside},
		{"HostileNames", testHostileNames},
		{"BigFile", testBigFile},
		{"Concurrent", testConcurrent},
		{"Link", testLink},
		{"Lchown", testLchown},
		{"HashFile", testHashFile},
		{"Run", testRun},
		{"RunCancel", testRunCancel},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := opt.Skip[c.name]; ok {
				t.Skip(why)
			}
			c.fn(t, newFS(t))
		})
	}
}

// write makes regular file name with content data, through the engine's
// path: Create, Write, Sync, Close.
func write(t *testing.T, fsys transport.FS, name, data string) {
	t.Helper()
	w, err := fsys.Create(name, 0o644)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatalf("Write(%q): %v", name, err)
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync(%q): %v", name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%q): %v", name, err)
	}
}

func read(t *testing.T, fsys transport.FS, name string) string {
	t.Helper()
	b, err := transport.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("ReadFile(%q): %v", name, err)
	}
	return string(b)
}

// wantPathErr checks that err is an *fs.PathError for name (or one of
// alt, for operations on two names) matching kind (nil: any error).
func wantPathErr(t *testing.T, what string, err error, name string, kind error, alt ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Errorf("%s: error %T %v is not an *fs.PathError", what, err, err)
		return
	}
	if pe.Path != name && !slices.Contains(alt, pe.Path) {
		t.Errorf("%s: PathError.Path = %q, want %q (%v)", what, pe.Path, name, err)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("%s: error %v is not %v", what, err, kind)
	}
}

var invalidNames = []string{"", "/", "/etc/passwd", "../x", "..", "a/../b", "a/./b", "./a", "a/", "a//b", "a/..", "a\x00b", "\x00"}

func testInvalidNames(t *testing.T, fsys transport.FS) {
	write(t, fsys, "a", "x")
	for _, n := range invalidNames {
		_, err := fsys.Lstat(n)
		wantPathErr(t, "Lstat "+n, err, n, fs.ErrInvalid)
		_, err = fsys.ReadDir(n)
		wantPathErr(t, "ReadDir "+n, err, n, fs.ErrInvalid)
		_, err = fsys.Readlink(n)
		wantPathErr(t, "Readlink "+n, err, n, fs.ErrInvalid)
		_, err = fsys.Open(n)
		wantPathErr(t, "Open "+n, err, n, fs.ErrInvalid)
		_, err = fsys.Create(n, 0o644)
		wantPathErr(t, "Create "+n, err, n, fs.ErrInvalid)
		wantPathErr(t, "Mkdir "+n, fsys.Mkdir(n, 0o755), n, fs.ErrInvalid)
		wantPathErr(t, "Symlink "+n, fsys.Symlink("a", n), n, fs.ErrInvalid)
		wantPathErr(t, "Rename to "+n, fsys.Rename("a", n), n, fs.ErrInvalid)
		wantPathErr(t, "Rename from "+n, fsys.Rename(n, "b"), n, fs.ErrInvalid)
		wantPathErr(t, "Remove "+n, fsys.Remove(n), n, fs.ErrInvalid)
		wantPathErr(t, "Chmod "+n, fsys.Chmod(n, 0o600), n, fs.ErrInvalid)
		wantPathErr(t, "Chtimes "+n, fsys.Chtimes(n, epoch), n, fs.ErrInvalid)
		if l, ok := fsys.(transport.Linker); ok {
			wantPathErr(t, "Link "+n, l.Link("a", n), n, fs.ErrInvalid)
		}
		if l, ok := fsys.(transport.Lchowner); ok {
			wantPathErr(t, "Lchown "+n, l.Lchown(n, -1, -1), n, fs.ErrInvalid)
		}
	}
	if got := read(t, fsys, "a"); got != "x" {
		t.Errorf("a changed to %q", got)
	}
}

func testRoot(t *testing.T, fsys transport.FS) {
	fi, err := fsys.Lstat(".")
	if err != nil || !fi.IsDir() {
		t.Fatalf("Lstat(.) = %+v, %v; want a directory", fi, err)
	}
	if s := fsys.String(); s == "" {
		t.Error("String() is empty")
	}
	entries, err := fsys.ReadDir(".")
	if err != nil || len(entries) != 0 {
		t.Fatalf("ReadDir of a new root = %v, %v; want empty", entries, err)
	}
}

func testReadDir(t *testing.T, fsys transport.FS) {
	names := []string{"b", "a", "C", "z.txt", "a.b", "dir", "link", "Ä", "_"}
	for _, n := range names {
		switch n {
		case "dir":
			must(t, fsys.Mkdir(n, 0o755))
		case "link":
			must(t, fsys.Symlink("dir", n))
		default:
			write(t, fsys, n, strings.Repeat("x", len(n)))
		}
	}
	entries, err := fsys.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
		want, err := fsys.Lstat(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Mode != want.Mode || e.Name != want.Name || (e.IsRegular() && e.Size != want.Size) {
			t.Errorf("ReadDir entry %+v differs from Lstat %+v", e, want)
		}
		switch {
		case e.Name == "dir" && !e.IsDir(), e.Name == "link" && !e.IsSymlink():
			t.Errorf("entry %q has mode %v", e.Name, e.Mode)
		case e.IsRegular() && e.Size != int64(len(e.Name)):
			t.Errorf("entry %q has size %d", e.Name, e.Size)
		}
	}
	want := []string{"C", "_", "a", "a.b", "b", "dir", "link", "z.txt", "Ä"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ReadDir = %q, want %q (sorted by bytes, no . or ..)", got, want)
	}
	sub, err := fsys.ReadDir("dir")
	if err != nil || len(sub) != 0 {
		t.Errorf("ReadDir(dir) = %v, %v", sub, err)
	}
}

func testErrors(t *testing.T, fsys transport.FS) {
	const m = "missing"
	_, err := fsys.Lstat(m)
	wantPathErr(t, "Lstat", err, m, fs.ErrNotExist)
	_, err = fsys.ReadDir(m)
	wantPathErr(t, "ReadDir", err, m, fs.ErrNotExist)
	_, err = fsys.Readlink(m)
	wantPathErr(t, "Readlink", err, m, fs.ErrNotExist)
	_, err = fsys.Open(m)
	wantPathErr(t, "Open", err, m, fs.ErrNotExist)
	wantPathErr(t, "Remove", fsys.Remove(m), m, fs.ErrNotExist)
	wantPathErr(t, "Chmod", fsys.Chmod(m, 0o644), m, fs.ErrNotExist)
	wantPathErr(t, "Chtimes", fsys.Chtimes(m, epoch), m, fs.ErrNotExist)
	wantPathErr(t, "Rename", fsys.Rename(m, "x"), m, fs.ErrNotExist, "x")
	_, err = fsys.Lstat("no/such/dir/file")
	wantPathErr(t, "Lstat deep", err, "no/such/dir/file", fs.ErrNotExist)
	_, err = fsys.Create("no/such/file", 0o644)
	wantPathErr(t, "Create in missing dir", err, "no/such/file", fs.ErrNotExist)
	_, err = transport.HashFile(fsys, m)
	wantPathErr(t, "HashFile", err, m, fs.ErrNotExist)
	write(t, fsys, "file", "x")
	_, err = fsys.Lstat("file/x")
	wantPathErr(t, "Lstat under a file", err, "file/x", nil)
}

func testCreateExcl(t *testing.T, fsys transport.FS) {
	write(t, fsys, "f", "first")
	_, err := fsys.Create("f", 0o644)
	wantPathErr(t, "Create over a file", err, "f", fs.ErrExist)
	must(t, fsys.Mkdir("d", 0o755))
	_, err = fsys.Create("d", 0o644)
	wantPathErr(t, "Create over a directory", err, "d", fs.ErrExist)
	outside := t.TempDir()
	must(t, fsys.Symlink(outside+"/new", "dangling"))
	_, err = fsys.Create("dangling", 0o644)
	wantPathErr(t, "Create over a dangling symlink", err, "dangling", fs.ErrExist)
	assertEmptyDir(t, outside)
	if got := read(t, fsys, "f"); got != "first" {
		t.Errorf("f = %q after failed Create", got)
	}
	w, err := fsys.Create("p", 0o600)
	must(t, err)
	must(t, w.Close())
	fi, err := fsys.Lstat("p")
	must(t, err)
	if !fi.IsRegular() || fi.Mode.Perm()&0o077 != 0 || fi.Size != 0 {
		t.Errorf("Create(p, 0600) made %v size %d", fi.Mode, fi.Size)
	}
}

func testMkdir(t *testing.T, fsys transport.FS) {
	must(t, fsys.Mkdir("d", 0o755))
	wantPathErr(t, "Mkdir existing", fsys.Mkdir("d", 0o755), "d", fs.ErrExist)
	wantPathErr(t, "Mkdir no parent", fsys.Mkdir("x/y", 0o755), "x/y", fs.ErrNotExist)
	must(t, fsys.Mkdir("d/e", 0o700))
	fi, err := fsys.Lstat("d/e")
	must(t, err)
	if !fi.IsDir() || fi.Name != "e" {
		t.Errorf("Lstat(d/e) = %+v", fi)
	}
	must(t, transport.MkdirAll(fsys, "a/b/c", 0o755))
	if fi, err := fsys.Lstat("a/b/c"); err != nil || !fi.IsDir() {
		t.Errorf("MkdirAll: %+v %v", fi, err)
	}
}

func testSymlink(t *testing.T, fsys transport.FS) {
	targets := []string{"plain", "../../x y", "/abs/target", "dir/", "new\nline", "-dash", "it's", ""}
	for i, target := range targets {
		if target == "" {
			continue // empty targets are refused by most systems
		}
		name := "l" + string(rune('0'+i))
		must(t, fsys.Symlink(target, name))
		got, err := fsys.Readlink(name)
		if err != nil || got != target {
			t.Errorf("Readlink(%s) = %q, %v; want %q", name, got, err, target)
		}
		fi, err := fsys.Lstat(name)
		if err != nil || !fi.IsSymlink() {
			t.Errorf("Lstat(%s) = %v, %v; want a symlink", name, fi.Mode, err)
		}
	}
	wantPathErr(t, "Symlink over existing", fsys.Symlink("x", "l0"), "l0", fs.ErrExist)
	write(t, fsys, "f", "x")
	_, err := fsys.Readlink("f")
	wantPathErr(t, "Readlink of a file", err, "f", nil)
}

func testRename(t *testing.T, fsys transport.FS) {
	write(t, fsys, "old", "new content")
	write(t, fsys, "target", "old content")
	must(t, fsys.Rename("old", "target"))
	if got := read(t, fsys, "target"); got != "new content" {
		t.Errorf("target = %q after Rename over it", got)
	}
	_, err := fsys.Lstat("old")
	wantPathErr(t, "Lstat renamed", err, "old", fs.ErrNotExist)
	must(t, fsys.Mkdir("d", 0o755))
	must(t, fsys.Rename("target", "d/moved"))
	if got := read(t, fsys, "d/moved"); got != "new content" {
		t.Errorf("d/moved = %q", got)
	}
	must(t, fsys.Symlink("nowhere", "ln"))
	must(t, fsys.Rename("ln", "d/ln"))
	if got, err := fsys.Readlink("d/ln"); err != nil || got != "nowhere" {
		t.Errorf("renamed symlink: %q %v", got, err)
	}
	must(t, fsys.Rename("d", "e"))
	if got := read(t, fsys, "e/moved"); got != "new content" {
		t.Errorf("e/moved = %q after renaming its directory", got)
	}
	write(t, fsys, "d", "a file where the directory was")
	if got := read(t, fsys, "d"); got != "a file where the directory was" {
		t.Errorf("d = %q", got)
	}
}

func testRemove(t *testing.T, fsys transport.FS) {
	write(t, fsys, "f", "x")
	must(t, fsys.Mkdir("d", 0o755))
	write(t, fsys, "d/f", "x")
	must(t, fsys.Symlink("d", "ld"))
	must(t, fsys.Remove("ld"))
	if _, err := fsys.Lstat("d/f"); err != nil {
		t.Errorf("removing a symlink touched its target: %v", err)
	}
	wantPathErr(t, "Remove non-empty dir", fsys.Remove("d"), "d", nil)
	must(t, fsys.Remove("d/f"))
	must(t, fsys.Remove("d"))
	must(t, fsys.Remove("f"))
	wantPathErr(t, "Remove again", fsys.Remove("f"), "f", fs.ErrNotExist)
	entries, err := fsys.ReadDir(".")
	if err != nil || len(entries) != 0 {
		t.Errorf("root after removals: %v %v", entries, err)
	}
	if err := fsys.Remove("."); err == nil {
		t.Errorf("Remove(.) removed the root")
	}
	if err := fsys.Rename(".", "x"); err == nil {
		t.Errorf("Rename(., x) renamed the root")
	}
	if _, err := fsys.Lstat("."); err != nil {
		t.Fatalf("root gone: %v", err)
	}
	must(t, transport.MkdirAll(fsys, "x/y/z", 0o755))
	write(t, fsys, "x/y/z/f", "x")
	must(t, transport.RemoveAll(fsys, "x"))
	if _, err := fsys.Lstat("x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RemoveAll left x: %v", err)
	}
}

func testChmod(t *testing.T, fsys transport.FS) {
	write(t, fsys, "f", "x")
	must(t, fsys.Mkdir("d", 0o755))
	for _, c := range []struct {
		name string
		mode fs.FileMode
	}{{"f", 0o600}, {"f", 0o755}, {"f", 0o640}, {"f", fs.ModeSetuid | 0o755}, {"d", 0o700}, {"d", fs.ModeSticky | 0o777}, {"d", 0o755}} {
		must(t, fsys.Chmod(c.name, c.mode))
		fi, err := fsys.Lstat(c.name)
		must(t, err)
		got := fi.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if got != c.mode {
			t.Errorf("Chmod(%s, %v): mode %v", c.name, c.mode, got)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// bytesEqual reports a difference of two big contents without printing
// them.
func bytesEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("%s: %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
	}
}
