package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/zeebo/blake3"
)

// hostileNames are base names a source tree may hold and a shell or a
// careless parser would mangle.
var hostileNames = []string{
	"with space", "new\nline", "tab\there", "ünïcødé ✓", "-leading-dash", "--", "-",
	"quote'single", `quote"double`, `back\slash`, "$(touch pwned)", "`touch pwned`",
	"*", "semi;colon", "amp&", "pipe|", "<>", "~tilde", "#hash", " leading space",
	"trailing space ", "...", ".hidden", "\x01control", "%s%n", "\\n",
	// Names are bytes, not UTF-8: Latin-1, a lone continuation byte, DEL.
	"caf\xe9", "\xff\xfe", "\x80", "del\x7f",
}

// longName is as long as a name element may be on Linux (NAME_MAX), and
// not UTF-8 either.
var longName = "\xe9" + strings.Repeat("n", 254)

func testHostileNames(t *testing.T, fsys transport.FS) {
	must(t, fsys.Mkdir("d", 0o755))
	for _, n := range hostileNames {
		write(t, fsys, n, "content of "+n)
		must(t, fsys.Mkdir("d/"+n, 0o755))
		write(t, fsys, "d/"+n+"/"+n, n)
	}
	entries, err := fsys.ReadDir(".")
	must(t, err)
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name] = true
	}
	for _, n := range hostileNames {
		if !got[n] {
			t.Errorf("ReadDir lacks %q", n)
		}
		if c := read(t, fsys, n); c != "content of "+n {
			t.Errorf("%q holds %q", n, c)
		}
		want := blake3.Sum256([]byte(n))
		s, err := transport.HashFile(fsys, "d/"+n+"/"+n)
		if err != nil || s != transport.Sum(want) {
			t.Errorf("HashFile(%q) = %v, %v", n, s, err)
		}
		must(t, fsys.Rename(n, n+".renamed"))
		must(t, fsys.Remove(n+".renamed"))
	}
	names := make([]string, len(hostileNames))
	for i, n := range hostileNames {
		names[i] = "d/" + n + "/" + n
	}
	sums, err := transport.HashFiles(fsys, names)
	must(t, err)
	for i, n := range hostileNames {
		if sums[i] != transport.Sum(blake3.Sum256([]byte(n))) {
			t.Errorf("HashFiles: wrong sum for %q", n)
		}
	}
	if _, err := fsys.Lstat("pwned"); err == nil {
		t.Errorf("a name was run as a command")
	}
	write(t, fsys, "d/"+longName, "long")
	if c := read(t, fsys, "d/"+longName); c != "long" {
		t.Errorf("the 255-byte name holds %q", c)
	}
	must(t, fsys.Chtimes("d/"+longName, epoch))
	if fi, err := fsys.Lstat("d/" + longName); err != nil || fi.Name != longName || fi.Size != 4 {
		t.Errorf("Lstat of the 255-byte name: %+v, %v", fi, err)
	}
	must(t, fsys.Remove("d/"+longName))
}

func randomData(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// onlyReader hides every method but Read, to force the plain path.
type onlyReader struct{ io.Reader }

// onlyWriter hides every method but Write.
type onlyWriter struct{ io.Writer }

func testBigFile(t *testing.T, fsys transport.FS) {
	data := randomData(9<<20 + 12345)
	for _, fast := range []bool{true, false} {
		name := fmt.Sprintf("big-%v", fast)
		w, err := fsys.Create(name, 0o644)
		must(t, err)
		var src io.Reader = bytes.NewReader(data)
		if !fast {
			src = onlyReader{src}
		}
		n, err := io.Copy(w, src) // uses ReadFrom when fast
		must(t, err)
		must(t, w.Sync())
		must(t, w.Close())
		if n != int64(len(data)) {
			t.Fatalf("wrote %d of %d bytes", n, len(data))
		}
		fi, err := fsys.Lstat(name)
		must(t, err)
		if fi.Size != int64(len(data)) {
			t.Errorf("size %d, want %d", fi.Size, len(data))
		}
		r, err := fsys.Open(name)
		must(t, err)
		var buf bytes.Buffer
		var dst io.Writer = &buf
		if !fast {
			dst = onlyWriter{dst}
		}
		_, err = io.Copy(dst, r) // uses WriteTo when fast
		must(t, err)
		if ra, ok := r.(io.ReaderAt); ok {
			part := make([]byte, 1000)
			if _, err := ra.ReadAt(part, 5<<20); err != nil {
				t.Errorf("ReadAt: %v", err)
			}
			bytesEqual(t, "ReadAt", part, data[5<<20:5<<20+1000])
		}
		must(t, r.Close())
		bytesEqual(t, name, buf.Bytes(), data)
	}
}

func testConcurrent(t *testing.T, fsys transport.FS) {
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- concurrentWork(fsys, g)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	entries, err := fsys.ReadDir(".")
	if err != nil || len(entries) != 0 {
		t.Errorf("left behind: %v %v", entries, err)
	}
}

func concurrentWork(fsys transport.FS, g int) error {
	dir := fmt.Sprintf("g%d", g)
	if err := transport.MkdirAll(fsys, dir+"/sub", 0o755); err != nil {
		return err
	}
	for i := range 20 {
		name := fmt.Sprintf("%s/sub/f%02d", dir, i)
		data := []byte(strings.Repeat(name, i*100+1))
		if err := transport.WriteFileAtomic(fsys, name, data, 0o644); err != nil {
			return err
		}
		got, err := transport.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("%s: content differs", name)
		}
	}
	entries, err := fsys.ReadDir(dir + "/sub")
	if err != nil {
		return err
	}
	if len(entries) != 20 {
		return fmt.Errorf("%s/sub has %d entries", dir, len(entries))
	}
	return transport.RemoveAll(fsys, dir)
}

func testLink(t *testing.T, fsys transport.FS) {
	l, ok := fsys.(transport.Linker)
	if !ok {
		t.Skip("not a Linker")
	}
	write(t, fsys, "a", "shared")
	must(t, l.Link("a", "b"))
	if got := read(t, fsys, "b"); got != "shared" {
		t.Errorf("b = %q", got)
	}
	wantPathErr(t, "Link over existing", l.Link("a", "b"), "b", fs.ErrExist, "a")
	wantPathErr(t, "Link missing", l.Link("missing", "c"), "c", fs.ErrNotExist, "missing")
	must(t, fsys.Remove("a"))
	if got := read(t, fsys, "b"); got != "shared" {
		t.Errorf("b = %q after removing a", got)
	}
}

func testLchown(t *testing.T, fsys transport.FS) {
	l, ok := fsys.(transport.Lchowner)
	if !ok {
		t.Skip("not an Lchowner")
	}
	write(t, fsys, "f", "x")
	fi, err := fsys.Lstat("f")
	must(t, err)
	if fi.UID < 0 || fi.GID < 0 {
		t.Skip("the endpoint does not report owners")
	}
	must(t, l.Lchown("f", fi.UID, fi.GID))
	uid, gid := 1234, 4321
	if os.Geteuid() != 0 {
		uid, gid = fi.UID, fi.GID
	}
	must(t, l.Lchown("f", uid, gid))
	fi, err = fsys.Lstat("f")
	must(t, err)
	if fi.UID != uid || fi.GID != gid {
		t.Errorf("owner %d:%d, want %d:%d", fi.UID, fi.GID, uid, gid)
	}
	must(t, fsys.Symlink("f", "ln"))
	if err := l.Lchown("ln", uid, gid); err != nil && !errors.Is(err, transport.ErrNotSupported) {
		t.Errorf("Lchown(symlink): %v", err)
	}
}

func testHashFile(t *testing.T, fsys transport.FS) {
	sizes := []int{0, 1, 1000, 1 << 20, 3<<20 + 7}
	var names []string
	for _, n := range sizes {
		name := fmt.Sprintf("f%d", n)
		names = append(names, name)
		data := randomData(n)
		w, err := fsys.Create(name, 0o644)
		must(t, err)
		_, err = w.Write(data)
		must(t, err)
		must(t, w.Close())
		s, err := transport.HashFile(fsys, name)
		must(t, err)
		if want := transport.Sum(blake3.Sum256(data)); s != want {
			t.Errorf("HashFile(%s) = %v, want %v", name, s, want)
		}
	}
	sums, err := transport.HashFiles(fsys, names)
	must(t, err)
	for i, n := range sizes {
		if sums[i] != transport.Sum(blake3.Sum256(randomData(n))) {
			t.Errorf("HashFiles: wrong sum for %s", names[i])
		}
	}
	_, err = transport.HashFiles(fsys, []string{names[0], "missing"})
	wantPathErr(t, "HashFiles missing", err, "missing", fs.ErrNotExist)
}

func testRun(t *testing.T, fsys transport.FS) {
	r, ok := fsys.(transport.Runner)
	if !ok {
		t.Skip("not a Runner")
	}
	write(t, fsys, "marker", "in the root")
	var out, errb bytes.Buffer
	err := r.Run(context.Background(), "cat marker; echo to-stderr >&2", &out, &errb)
	must(t, err)
	if out.String() != "in the root" || errb.String() != "to-stderr\n" {
		t.Errorf("Run printed %q and %q", out.String(), errb.String())
	}
	if err := r.Run(context.Background(), "exit 3", io.Discard, io.Discard); err == nil {
		t.Errorf("Run(exit 3) did not fail")
	}
}

func testRunCancel(t *testing.T, fsys transport.FS) {
	r, ok := fsys.(transport.Runner)
	if !ok {
		t.Skip("not a Runner")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.Run(ctx, "sleep 1; touch late", io.Discard, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v after the context ended", d)
	}
	time.Sleep(1500*time.Millisecond - time.Since(start))
	if _, err := fsys.Lstat("late"); err == nil {
		t.Errorf("the command went on after the cancel")
	}
}
