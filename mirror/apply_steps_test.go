package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/faultfs"
)

// applyWith plans DIR d of srcDir onto dst (with deletions, opt's owner
// setting) and applies the plan with one worker and aopt.
func applyWith(t *testing.T, srcDir string, dst transport.FS, popt Options, aopt ApplyOptions) (*Plan, *Result) {
	t.Helper()
	src := openLocal(t, srcDir)
	popt.Dirs, popt.Delete = []string{"d"}, true
	p, err := MakePlan(context.Background(), src, dst, popt)
	if err != nil {
		t.Fatal(err)
	}
	aopt.Workers = 1
	res, err := Apply(context.Background(), p, src, dst, aopt)
	if err != nil {
		t.Fatal(err)
	}
	return p, res
}

// TestApplyCountsAndRecords: the Result counts what the run did (files,
// bytes, directories made, symlinks, deletions — a deleted directory is
// not a deleted file), and the manifest recorded from it holds every
// entry the run made and none it deleted.
func TestApplyCountsAndRecords(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	writeTree(t, srcDir, map[string]string{"d/a/x": "12345", "d/f": "new", "d/link": "->f", "d/same": "same"})
	if err := os.MkdirAll(filepath.Join(srcDir, "d/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dstDir, map[string]string{"d/f": "old!", "d/same": "same", "d/gone1": "1", "d/gone2": "2", "d/olddir/g": "3"})
	dst := openLocal(t, dstDir)
	p, res := applyWith(t, srcDir, dst, Options{}, ApplyOptions{Trash: NewTrash(dst, t0)})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	counts := []struct {
		name      string
		got, want int
	}{
		{"files", res.Files, 2}, {"bytes", int(res.Bytes), len("12345") + len("new")}, {"dirs", res.Dirs, 2},
		{"links", res.Links, 1}, {"deleted", res.Deleted, 3},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	m := recordRun(p, res, nil)
	for _, path := range []string{"d/a", "d/a/x", "d/b", "d/f", "d/link", "d/same"} {
		if _, ok := m[path]; !ok {
			t.Errorf("manifest lacks %s, which the run made", path)
		}
	}
	for _, path := range []string{"d/gone1", "d/gone2", "d/olddir", "d/olddir/g"} {
		if _, ok := m[path]; ok {
			t.Errorf("manifest holds %s, which the run deleted", path)
		}
	}
	if e := m["d/link"]; !e.Mode.Type().IsRegular() && e.Mode.Type()&fs.ModeSymlink == 0 {
		t.Errorf("manifest's d/link: mode %v", e.Mode)
	}
	if w := res.Written["d/a/x"]; w.Sum == nil || w.Info.Size != 5 {
		t.Errorf("written d/a/x: %+v", w)
	}
}

// TestApplyMetadata: a file or directory that differs only in its mode,
// and a set-group-id file, get the source's mode on the mirror; the
// manifest records a directory's new mode once fixDirs set it.
func TestApplyMetadata(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	files := map[string]string{"d/mode": "same content", "d/sub/x": "x"}
	writeTree(t, srcDir, files)
	writeTree(t, dstDir, files)
	write(t, srcDir, "d/setgid", "setgid", t0)
	chmod := func(root, p string, mode fs.FileMode) {
		if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	chmod(srcDir, "d/mode", 0o600)
	chmod(srcDir, "d/sub", 0o750)
	chmod(srcDir, "d/setgid", 0o755|fs.ModeSetgid)
	for _, root := range []string{srcDir, dstDir} { // directories' times as the files'
		for _, d := range []string{"d/sub", "d"} {
			if err := os.Chtimes(filepath.Join(root, d), t0, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	dst := openLocal(t, dstDir)
	p, res := applyWith(t, srcDir, dst, Options{}, ApplyOptions{})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{"d/mode": 0o600, "d/sub": fs.ModeDir | 0o750, "d/setgid": 0o755 | fs.ModeSetgid} {
		fi, err := os.Lstat(filepath.Join(dstDir, path))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetgid); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	if res.Meta != 1 {
		t.Errorf("Meta %d, want 1 (the file; the directory's is done with the directories)", res.Meta)
	}
	m := recordRun(p, res, nil)
	if got := m["d/sub"].Mode.Perm(); got != 0o750 {
		t.Errorf("manifest's d/sub: %v, want 0750", got)
	}
	if got := m["d/mode"].Mode.Perm(); got != 0o600 {
		t.Errorf("manifest's d/mode: %v, want 0600", got)
	}
}

// TestApplyStepFailures: DESIGN §5 "no deletion after any failure", step
// by step. Whichever write fails — making a directory, a symlink, its
// rename, a file's rename, a mode or a time — the run reports it (the
// injected EIO), leaves no temporary, and deletes nothing.
func TestApplyStepFailures(t *testing.T) {
	tmp := "d/" + transport.TempPrefix + "*"
	tests := []struct {
		name  string
		fault faultfs.Fault
		late  bool // the step comes after the deletions (directories' metadata)
	}{
		{"mkdir", faultfs.Fault{Op: faultfs.Mkdir, Name: "d/newdir"}, false},
		{"symlink", faultfs.Fault{Op: faultfs.Symlink, Name: tmp}, false},
		{"symlink's rename", faultfs.Fault{Op: faultfs.Rename, To: "d/link"}, false},
		{"file's rename", faultfs.Fault{Op: faultfs.Rename, To: "d/f"}, false},
		{"file's time", faultfs.Fault{Op: faultfs.Chtimes, Name: tmp}, false},
		{"mode of a file", faultfs.Fault{Op: faultfs.Chmod, Name: "d/mode"}, false},
		{"directory's time", faultfs.Fault{Op: faultfs.Chtimes, Name: "d/newdir"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, map[string]string{"d/newdir/x": "x", "d/link": "->f", "d/f": "new", "d/mode": "m"})
			writeTree(t, dstDir, map[string]string{"d/f": "old content", "d/mode": "m", "d/gone": "deleted on the source"})
			if err := os.Chmod(filepath.Join(srcDir, "d/mode"), 0o600); err != nil {
				t.Fatal(err)
			}
			dst := faultfs.New(openLocal(t, dstDir), tc.fault)
			_, res := applyWith(t, srcDir, dst, Options{}, ApplyOptions{})
			if len(dst.Faulted()) == 0 {
				t.Fatalf("the fault never hit: %v", dst.Calls())
			}
			if !errors.Is(res.Err(), syscall.EIO) {
				t.Errorf("run errors %v, want the injected EIO", res.Err())
			}
			got := readTree(t, dstDir)
			if tc.late {
				return
			}
			if got["d/f"] != "old content" && got["d/f"] != "new" {
				t.Errorf("d/f holds %q: neither old nor new", got["d/f"])
			}
			if got["d/gone"] != "deleted on the source" || res.Deleted != 0 || !res.DeletesSkipped {
				t.Errorf("a deletion happened after a failure (deleted %d, skipped %v)", res.Deleted, res.DeletesSkipped)
			}
			for p := range got {
				if strings.Contains(p, transport.TempPrefix) {
					t.Errorf("temporary left: %s", p)
				}
			}
		})
	}
}

// TestApplyDeleteErrors: a deletion that fails is the run's error and not
// counted; one whose entry is already gone is no error.
func TestApplyDeleteErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		wantErr     bool
		wantDeleted int
	}{
		{"fails", syscall.EIO, true, 1},
		{"already gone", fs.ErrNotExist, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, map[string]string{"d/keep": "k"})
			writeTree(t, dstDir, map[string]string{"d/keep": "k", "d/g1": "1", "d/g2": "2"})
			dst := faultfs.New(openLocal(t, dstDir), faultfs.Fault{Op: faultfs.Remove, Name: "d/g1", Err: tc.err})
			_, res := applyWith(t, srcDir, dst, Options{}, ApplyOptions{})
			if got := res.Err() != nil; got != tc.wantErr || tc.wantErr && !errors.Is(res.Err(), syscall.EIO) {
				t.Errorf("run errors %v, want an error: %v", res.Err(), tc.wantErr)
			}
			if res.Deleted != tc.wantDeleted {
				t.Errorf("Deleted %d, want %d", res.Deleted, tc.wantDeleted)
			}
		})
	}
}

// TestApplyTempToken: every temporary the run makes carries the token it
// was given (the journal names it; the next run removes only those).
func TestApplyTempToken(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	writeTree(t, srcDir, map[string]string{"d/f": "f", "d/g": "g", "d/link": "->f"})
	dst := faultfs.New(openLocal(t, dstDir))
	const token = "0123456789abcdef"
	_, res := applyWith(t, srcDir, dst, Options{}, ApplyOptions{TempToken: token})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	temps := 0
	for _, c := range dst.Calls() {
		if c.Op != faultfs.Create && c.Op != faultfs.Symlink {
			continue
		}
		name := c.Name // a Symlink's Name is the link made
		temps++
		if got, ok := transport.TempToken(filepath.Base(name)); !ok || got != token {
			t.Errorf("%s %s: not a temporary of token %s", c.Op, name, token)
		}
	}
	if temps != 3 {
		t.Errorf("%d temporaries made, want 3: %v", temps, dst.Calls())
	}
}

// TestApplyRetriesAChangingFile: a source file that changes during every
// copy is read exactly Retries times, then kept with a warning as torn.
func TestApplyRetriesAChangingFile(t *testing.T) {
	for _, retries := range []int{1, 2, 4} {
		srcDir, dstDir := t.TempDir(), t.TempDir()
		writeTree(t, srcDir, map[string]string{"d/busy": "being written"})
		src := faultfs.New(openLocal(t, srcDir))
		n := 0
		src.Add(faultfs.Fault{Op: faultfs.Read, Name: "d/busy", Hook: func() {
			n++
			mt := t0.Add(time.Duration(n) * time.Minute)
			if err := os.Chtimes(filepath.Join(srcDir, "d/busy"), mt, mt); err != nil {
				t.Error(err)
			}
		}})
		dst := openLocal(t, dstDir)
		p, err := MakePlan(context.Background(), src, dst, Options{Dirs: []string{"d"}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(context.Background(), p, src, dst, ApplyOptions{Workers: 1, Retries: retries})
		if err != nil {
			t.Fatal(err)
		}
		opens := 0
		for _, c := range src.Calls() {
			if c.Op == faultfs.Open && c.Name == "d/busy" {
				opens++
			}
		}
		if opens != retries {
			t.Errorf("retries %d: the file was opened %d times", retries, opens)
		}
		if w := res.Written["d/busy"]; w.Trust != Torn || len(res.Warnings) != 1 {
			t.Errorf("retries %d: trust %v, warnings %q; want torn, one warning", retries, w.Trust, res.Warnings)
		}
	}
}

// TestApplyFileSizes: files around the size read whole into one buffer
// (smallFile) arrive exact, written through an endpoint without holes and
// through the local one.
func TestApplyFileSizes(t *testing.T) {
	sizes := []int{0, 1, smallFile - 1, smallFile, smallFile + 1, 3*smallFile + 5}
	for _, holes := range []bool{true, false} {
		srcDir, dstDir := t.TempDir(), t.TempDir()
		files := map[string]string{}
		for i, size := range sizes {
			b := make([]byte, size)
			for j := range b {
				b[j] = byte(j*7 + i)
			}
			files["d/f"+string(rune('a'+i))] = string(b)
		}
		writeTree(t, srcDir, files)
		var dst transport.FS = openLocal(t, dstDir)
		if !holes {
			dst = faultfs.New(dst)
		}
		_, res := applyWith(t, srcDir, dst, Options{}, ApplyOptions{})
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		if d := diffTrees(files, readTree(t, dstDir)); d != "" {
			t.Errorf("holes %v: %s", holes, d)
		}
	}
}

// TestApplyOwners: run as root, with owners kept, a new directory gets the
// source's owner, and a file owned by root on the source gets root back
// on the mirror where it was another user's; an Lchown the endpoint does
// not support is no error, one that fails is.
func TestApplyOwners(t *testing.T) {
	testenv.NeedRoot(t)
	for _, tc := range []struct {
		name    string
		err     error
		wantErr bool
	}{{"kept", nil, false}, {"unsupported", transport.ErrNotSupported, false}, {"failing", syscall.EIO, true}} {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, map[string]string{"d/new/x": "x", "d/rootfile": "r"})
			writeTree(t, dstDir, map[string]string{"d/rootfile": "r"})
			if err := os.Lchown(filepath.Join(srcDir, "d/new"), 1234, 1235); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(filepath.Join(dstDir, "d/rootfile"), 1234, 1234); err != nil {
				t.Fatal(err)
			}
			dst := faultfs.New(openLocal(t, dstDir))
			if tc.err != nil {
				dst.Add(faultfs.Fault{Op: faultfs.Lchown, Name: "d/rootfile", Err: tc.err})
			}
			_, res := applyWith(t, srcDir, dst, Options{Owners: true}, ApplyOptions{})
			if got := res.Err() != nil; got != tc.wantErr {
				t.Fatalf("run errors %v, want an error: %v", res.Err(), tc.wantErr)
			}
			owner := func(p string) (uint32, uint32) {
				fi, err := os.Lstat(filepath.Join(dstDir, p))
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				return st.Uid, st.Gid
			}
			if u, g := owner("d/new"); u != 1234 || g != 1235 {
				t.Errorf("new directory owned by %d:%d, want the source's 1234:1235", u, g)
			}
			if u, g := owner("d/rootfile"); tc.err == nil && (u != 0 || g != 0) {
				t.Errorf("d/rootfile owned by %d:%d, want root's as on the source", u, g)
			}
		})
	}
}

// TestApplySetAsideWithoutTrash: an entry of the wrong type goes to the
// trash even when the run has none (--no-trash): it is moved before the
// transfers, when it is not yet known that the run will succeed.
func TestApplySetAsideWithoutTrash(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	writeTree(t, srcDir, map[string]string{"d/was-a-file/inside": "now a directory"})
	writeTree(t, dstDir, map[string]string{"d/was-a-file": "the mirror's file"})
	_, res := applyWith(t, srcDir, openLocal(t, dstDir), Options{}, ApplyOptions{})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dstDir)
	if got["d/was-a-file/inside"] != "now a directory" {
		t.Errorf("mirror: %v", got)
	}
	if kept := trashedContents(got); len(kept) != 1 || kept[0] != "the mirror's file" {
		t.Errorf("trash holds %q, want the set-aside file", kept)
	}
}

// TestApplySpecialRecorded: a FIFO is made on the mirror and recorded in
// the manifest as one.
func TestApplySpecialRecorded(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	writeTree(t, srcDir, map[string]string{"d/f": "f"})
	if err := syscall.Mkfifo(filepath.Join(srcDir, "d/queue"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, res := applyWith(t, srcDir, openLocal(t, dstDir), Options{Specials: true}, ApplyOptions{})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dstDir, "d/queue"))
	if err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		t.Fatalf("mirror's d/queue: %v %v", fi, err)
	}
	if e, ok := recordRun(p, res, nil)["d/queue"]; !ok || e.Mode.Type() != fs.ModeNamedPipe || res.Specials != 1 {
		t.Errorf("manifest's d/queue %+v (recorded %v), specials %d", e, ok, res.Specials)
	}
}

// TestApplyWorkers: Workers bounds the files copied at once — one worker
// copies one file at a time — and by default several go at once.
func TestApplyWorkers(t *testing.T) {
	for _, tc := range []struct {
		workers int
		wantMax func(int) bool
		want    string
	}{
		{1, func(n int) bool { return n == 1 }, "exactly 1"},
		{0, func(n int) bool { return n > 1 }, "more than 1 (the default)"},
	} {
		srcDir, dstDir := t.TempDir(), t.TempDir()
		for i := range 16 {
			write(t, srcDir, fmt.Sprintf("d/f%02d", i), "x", t0)
		}
		var mu sync.Mutex
		inFlight, most := 0, 0
		src := faultfs.New(openLocal(t, srcDir),
			faultfs.Fault{Op: faultfs.Open, Name: "d/f*", Hook: func() {
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // the file is being read
			}},
			faultfs.Fault{Op: faultfs.Close, Name: "d/f*", Hook: func() {
				mu.Lock()
				inFlight--
				mu.Unlock()
			}})
		dst := openLocal(t, dstDir)
		p, err := MakePlan(context.Background(), src, dst, Options{Dirs: []string{"d"}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(context.Background(), p, src, dst, ApplyOptions{Workers: tc.workers})
		if err != nil || res.Err() != nil || res.Files != 16 {
			t.Fatalf("workers %d: %v %v, %d files", tc.workers, err, res.Err(), res.Files)
		}
		if !tc.wantMax(most) {
			t.Errorf("workers %d: %d files read at once, want %s", tc.workers, most, tc.want)
		}
	}
}

// TestApplyXattrChange: a file whose extended attributes alone differ gets
// the source's on the mirror.
func TestApplyXattrChange(t *testing.T) {
	srcDir, dstDir := t.TempDir(), t.TempDir()
	files := map[string]string{"d/f": "same content"}
	writeTree(t, srcDir, files)
	writeTree(t, dstDir, files)
	err := unix.Setxattr(filepath.Join(srcDir, "d/f"), "user.origin", []byte("uhane"), 0)
	testenv.Require(t, "user extended attributes on the temporary directory's filesystem", err)
	_, res := applyWith(t, srcDir, openLocal(t, dstDir), Options{Xattrs: true}, ApplyOptions{})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(filepath.Join(dstDir, "d/f"), "user.origin", buf)
	if err != nil || string(buf[:n]) != "uhane" {
		t.Errorf("mirror's user.origin: %q, %v", buf[:max(n, 0)], err)
	}
}

// TestApplySparseChoice: files over smallFile have their zero blocks left
// as holes unless KeepZeros (sparse = false); a file of smallFile bytes or
// less is written whole.
func TestApplySparseChoice(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int
		keepZeros bool
		holes     bool
	}{
		{"large", 4 * smallFile, false, true},
		{"large, zeros kept", 4 * smallFile, true, false},
		{"at the limit", smallFile, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			writeTree(t, srcDir, map[string]string{"d/img": string(make([]byte, tc.size))})
			_, res := applyWith(t, srcDir, openLocal(t, dstDir), Options{}, ApplyOptions{KeepZeros: tc.keepZeros})
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dstDir, "d/img"))
			if err != nil || fi.Size() != int64(tc.size) {
				t.Fatalf("mirror's d/img: %v %v", fi, err)
			}
			alloc := fi.Sys().(*syscall.Stat_t).Blocks * 512
			if holes := alloc < int64(tc.size)/2; holes != tc.holes {
				t.Errorf("%d of %d bytes allocated: holes %v, want %v", alloc, tc.size, holes, tc.holes)
			}
		})
	}
}
