package mirror

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// secondsSource is a local source seen as over SFTP (mtimes in whole
// seconds), whose file "d/f" a writer rewrites in place, with the same
// size, while the copy reads it; mtime then says what rewrite gives it.
type secondsSource struct {
	*transport.Local
	root    string
	content func(n int) string    // the n-th rewrite's content
	mtime   func(n int) time.Time // the n-th rewrite's mtime
	opens   int
}

func (s *secondsSource) Lstat(name string) (transport.FileInfo, error) {
	fi, err := s.Local.Lstat(name)
	fi.ModTime = fi.ModTime.Truncate(time.Second)
	return fi, err
}

func (s *secondsSource) ReadDir(name string) ([]transport.FileInfo, error) {
	infos, err := s.Local.ReadDir(name)
	for i := range infos {
		infos[i].ModTime = infos[i].ModTime.Truncate(time.Second)
	}
	return infos, err
}

func (s *secondsSource) Open(name string) (io.ReadCloser, error) {
	r, err := s.Local.Open(name)
	if err != nil || name != "d/f" {
		return r, err
	}
	s.opens++
	n := s.opens
	return &rewriteAfterFirstRead{ReadCloser: r, rewrite: func() {
		p := filepath.Join(s.root, name)
		f, err := os.OpenFile(p, os.O_WRONLY, 0) // in place: the same inode
		if err == nil {
			f.WriteString(s.content(n))
			f.Close()
			os.Chtimes(p, s.mtime(n), s.mtime(n))
		}
	}}, nil
}

// rewriteAfterFirstRead calls rewrite once, after the first Read: the
// copy holds the old first bytes and reads the new rest.
type rewriteAfterFirstRead struct {
	io.ReadCloser
	rewrite func()
	done    bool
}

func (r *rewriteAfterFirstRead) Read(p []byte) (int, error) {
	if len(p) > 1024 {
		p = p[:1024]
	}
	n, err := r.ReadCloser.Read(p)
	if !r.done {
		r.done = true
		r.rewrite()
	}
	return n, err
}

// runOnce plans and applies src onto dst and returns the manifest the run
// records, starting from old.
func runOnce(t *testing.T, src, dst transport.FS, old Manifest) (*Plan, *Result, Manifest) {
	t.Helper()
	p, err := MakePlan(context.Background(), src, dst, Options{Dirs: []string{"d"}, Delete: true, Recheck: old.Untrusted()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), p, src, dst, ApplyOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p, res, recordRun(p, res, old)
}

// TestTornCopySameSecond: issue 8 item 10 (a). The file is rewritten in
// place, same size, within the second of its mtime, while it is copied:
// size and mtime show nothing, so the copy (old start, new end) is
// recorded racy, not proven; the next run compares it by content and
// copies it again, and the mirror ends equal to the source.
func TestTornCopySameSecond(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	size := 64 << 10
	stamp := time.Now().Truncate(time.Second)
	write(t, srcDir, "d/f", strings.Repeat("a", size), stamp)
	src := &secondsSource{Local: openLocal(t, srcDir), root: srcDir,
		content: func(int) string { return strings.Repeat("b", size) },
		mtime:   func(int) time.Time { return stamp }}
	dst := openLocal(t, dstDir)
	_, res, m := runOnce(t, src, dst, nil)
	if w := res.Written["d/f"]; w.Trust != Racy {
		t.Fatalf("the copy was recorded %v, want racy", w.Trust)
	}
	got, _ := os.ReadFile(filepath.Join(dstDir, "d/f"))
	if string(got) == strings.Repeat("b", size) {
		t.Fatal("the test did not tear the copy")
	}
	if !m.Untrusted()["d/f"] {
		t.Fatal("the manifest trusts the torn copy")
	}
	src.content = func(int) string { return strings.Repeat("b", size) }
	src.opens = 100 // no more rewrites change anything: the content stays "b"
	p, _, m := runOnce(t, src, dst, m)
	if len(p.Actions) != 1 || p.Actions[0].Op != OpUpdate || p.Actions[0].Why&ChangeContent == 0 {
		t.Fatalf("the next run planned %v, want a content update of d/f", p.Actions)
	}
	got, _ = os.ReadFile(filepath.Join(dstDir, "d/f"))
	if string(got) != strings.Repeat("b", size) {
		t.Fatalf("the mirror still holds a torn copy")
	}
	if m.Untrusted()["d/f"] && !racy(stamp, time.Now()) {
		t.Fatal("a copy compared equal (and no longer racy) is still untrusted")
	}
}

// TestTornCopyChangedEveryTime: the file changes (a new mtime) during every
// attempt: the run warns, the copy is recorded torn, and check
// --mirror-only calls it unsure.
func TestTornCopyChangedEveryTime(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	size := 64 << 10
	old := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	write(t, srcDir, "d/f", strings.Repeat("a", size), old)
	src := &secondsSource{Local: openLocal(t, srcDir), root: srcDir,
		content: func(n int) string { return strings.Repeat(string(rune('a'+n)), size) },
		mtime:   func(n int) time.Time { return old.Add(time.Duration(n) * time.Hour) }}
	dst := openLocal(t, dstDir)
	_, res, m := runOnce(t, src, dst, nil)
	if w := res.Written["d/f"]; w.Trust != Torn {
		t.Fatalf("the copy was recorded %v, want torn", w.Trust)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "changed while it was copied") {
		t.Fatalf("no warning: %q", res.Warnings)
	}
	if err := writeManifest(dst, m); err != nil {
		t.Fatal(err)
	}
	rep, err := CheckManifest(context.Background(), dst, []string{"d"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || rep.Differences[0] != (Difference{Kind: "unsure", Path: "d/f"}) {
		t.Fatalf("check --mirror-only found %v, want d/f unsure", rep.Differences)
	}
}
