package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSpecialFiles: a FIFO, a socket and (as root) a device node arrive on
// the mirror as they are on the source — type, mode, device number —
// without the run ever opening them (a FIFO opened would block it), a
// device number changed on the source is followed, and rsync -a (which
// includes -D) is the oracle.
func TestSpecialFiles(t *testing.T) {
	w := newWorld(t, "detrend")
	src := func(p string) string { return filepath.Join(w.src, p) }
	must(t, os.MkdirAll(src("detrend/run"), 0o755))
	must(t, unix.Mkfifo(src("detrend/run/queue"), 0o600))
	must(t, os.Chmod(src("detrend/run/queue"), 0o620)) // whatever the umask
	must(t, unix.Mknod(src("detrend/run/sock"), syscall.S_IFSOCK|0o660, 0))
	root := os.Geteuid() == 0
	if root {
		must(t, unix.Mknod(src("detrend/run/null"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	}
	writeFile(t, src("detrend/data"), "data\n")

	w.mustRun(0, "init", "elixir")
	done := make(chan result, 1)
	go func() { done <- w.run("backup", "elixir") }()
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("backup hangs on a special file")
	}
	w.assertSame()
	if fi, err := os.Lstat(filepath.Join(w.dst, "detrend/run/queue")); err != nil || fi.Mode().Type() != os.ModeNamedPipe || fi.Mode().Perm() != 0o620 {
		t.Errorf("the FIFO on the mirror: %v, %v", fi.Mode(), err)
	}
	if !root {
		return
	}
	must(t, os.Remove(src("detrend/run/null")))
	must(t, unix.Mknod(src("detrend/run/null"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
	r := w.mustRun(0, "backup", "elixir", "-n")
	if !strings.Contains(r.stdout, "cD") || !strings.Contains(r.stdout, "detrend/run/null") {
		t.Errorf("the dry run does not itemize the changed device rsync-style:\n%s", r.stdout)
	}
	w.mustRun(0, "backup", "elixir")
	w.assertSame()
	w.mustRun(0, "check", "elixir")
	if n := countInTrash(t, w.dst, "null"); n != 1 {
		t.Errorf("the replaced device node is in the trash %d times, want 1", n)
	}
}
