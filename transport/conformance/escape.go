package conformance

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// epoch is a time with nanoseconds, well after 1970 and before 2106 (SFTP
// carries unsigned 32-bit seconds).
var epoch = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

func testChtimes(t *testing.T, fsys transport.FS) {
	prec := transport.TimePrecision(fsys)
	write(t, fsys, "f", "x")
	must(t, fsys.Mkdir("d", 0o755))
	for _, n := range []string{"f", "d", "."} {
		must(t, fsys.Chtimes(n, epoch))
		fi, err := fsys.Lstat(n)
		must(t, err)
		if want := epoch.Truncate(prec); !fi.ModTime.Equal(want) {
			t.Errorf("Chtimes(%s): ModTime %v, want %v (precision %v)", n, fi.ModTime, want, prec)
		}
	}
}

// testChtimesSymlink: Chtimes on a symlink sets the link's own time or
// nothing, never its target's.
func testChtimesSymlink(t *testing.T, fsys transport.FS) {
	prec := transport.TimePrecision(fsys)
	write(t, fsys, "target", "x")
	must(t, fsys.Chtimes("target", epoch))
	must(t, fsys.Symlink("target", "link"))
	other := epoch.Add(-48 * time.Hour)
	must(t, fsys.Chtimes("link", other))
	fi, err := fsys.Lstat("target")
	must(t, err)
	if !fi.ModTime.Equal(epoch.Truncate(prec)) {
		t.Errorf("Chtimes(link) changed the target's time to %v", fi.ModTime)
	}
	li, err := fsys.Lstat("link")
	must(t, err)
	if !li.IsSymlink() {
		t.Fatalf("link is %v", li.Mode)
	}
	if !li.ModTime.Equal(other.Truncate(prec)) {
		t.Logf("Chtimes on a symlink left its time (%v); allowed by the contract", li.ModTime)
	}
	outside := t.TempDir()
	file := filepath.Join(outside, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, epoch, epoch); err != nil {
		t.Fatal(err)
	}
	must(t, fsys.Symlink(file, "out"))
	_ = fsys.Chtimes("out", other)
	if st, err := os.Stat(file); err != nil || !st.ModTime().Equal(epoch) {
		t.Errorf("Chtimes through a symlink changed a file outside the root: %v %v", st.ModTime(), err)
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("outside directory: %v", err)
	}
	for _, e := range entries {
		t.Errorf("something was written outside the root: %s", filepath.Join(dir, e.Name()))
	}
}

// testSymlinkEscape: with evil -> a directory outside the root, nothing
// named below evil may reach it.
func testSymlinkEscape(t *testing.T, fsys transport.FS) {
	outside := t.TempDir()
	must(t, os.Chmod(outside, 0o700))
	must(t, fsys.Symlink(outside, "evil"))
	write(t, fsys, "f", "data")
	must(t, fsys.Mkdir("sub", 0o755))
	must(t, fsys.Symlink("../evil", "sub/evil2"))
	for _, dir := range []string{"evil", "sub/evil2"} {
		x := dir + "/x"
		if w, err := fsys.Create(x, 0o644); err == nil {
			_, _ = io.WriteString(w, "escaped")
			w.Close()
			t.Errorf("Create(%s) through a symlink succeeded", x)
		}
		if fsys.Mkdir(dir+"/d", 0o755) == nil {
			t.Errorf("Mkdir(%s/d) succeeded", dir)
		}
		if fsys.Symlink("t", dir+"/s") == nil {
			t.Errorf("Symlink(%s/s) succeeded", dir)
		}
		if fsys.Rename("f", dir+"/f") == nil {
			t.Errorf("Rename(f, %s/f) succeeded", dir)
			must(t, os.Rename(filepath.Join(outside, "f"), filepath.Join(t.TempDir(), "f")))
		}
		if l, ok := fsys.(transport.Linker); ok && l.Link("f", dir+"/l") == nil {
			t.Errorf("Link(f, %s/l) succeeded", dir)
		}
		if _, err := fsys.ReadDir(dir); err == nil {
			t.Errorf("ReadDir(%s) listed the symlink's target", dir)
		}
	}
	if err := fsys.Chmod("evil", 0o777); err == nil {
		t.Errorf("Chmod(evil) succeeded on a directory outside the root")
	}
	if st, _ := os.Stat(outside); st.Mode().Perm() != 0o700 {
		t.Errorf("outside directory mode changed to %v", st.Mode().Perm())
	}
	if err := fsys.Remove("evil"); err != nil {
		t.Errorf("Remove(evil): %v", err)
	}
	assertEmptyDir(t, outside)
}

// testDotDotEscape: a symlink to ".." or to an absolute path above the
// root does not open a way out either.
func testDotDotEscape(t *testing.T, fsys transport.FS) {
	must(t, fsys.Symlink("..", "up"))
	must(t, fsys.Symlink("../../../../../../../../..", "top"))
	for _, n := range []string{"up/escaped", "top/tmp/escaped"} {
		if w, err := fsys.Create(n, 0o644); err == nil {
			w.Close()
			t.Errorf("Create(%s) succeeded", n)
		}
		if _, err := fsys.Lstat(n); err == nil {
			t.Errorf("Lstat(%s) found something", n)
		}
	}
	if _, err := fsys.ReadDir("top/etc"); err == nil {
		t.Errorf("ReadDir(top/etc) listed /etc")
	}
	if _, err := fsys.Open("top/etc/passwd"); err == nil {
		t.Errorf("Open(top/etc/passwd) opened /etc/passwd")
	}
}

func testOpenSymlinkOutside(t *testing.T, fsys transport.FS) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, fsys.Symlink(secret, "s"))
	must(t, fsys.Symlink(outside, "d"))
	for _, n := range []string{"s", "d/secret"} {
		r, err := fsys.Open(n)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) == "SECRET" {
			t.Errorf("Open(%s) read a file outside the root", n)
		}
	}
	if s, err := transport.HashFile(fsys, "s"); err == nil {
		t.Errorf("HashFile(s) hashed a file outside the root: %v", s)
	}
	_, err := fsys.Lstat("d/secret")
	if err == nil {
		t.Errorf("Lstat(d/secret) reached outside the root")
	}
	var pe *fs.PathError
	if err != nil && !asPathErr(err, &pe) {
		t.Errorf("Lstat(d/secret): %T is not a PathError", err)
	}
}

func asPathErr(err error, pe **fs.PathError) bool {
	p, ok := err.(*fs.PathError)
	*pe = p
	return ok
}
