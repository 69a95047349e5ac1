package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
	"github.com/mirrorfence/mirrorfence/mirror"
)

// Faults that end a run from outside: a full disk and a kill -9. Whatever
// the moment, no file that existed before the run is lost on the mirror
// (its content is at its path or in the trash), no half file stands under
// a real name, and the next run completes.

var (
	crashBinaryOnce sync.Once
	crashBinaryPath string
	crashBinaryErr  error
)

// crashBinary builds the backup command once per test process.
func crashBinary(t *testing.T) string {
	t.Helper()
	crashBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "backup-bin-")
		if err != nil {
			crashBinaryErr = err
			return
		}
		crashBinaryPath = filepath.Join(dir, "backup")
		out, err := exec.Command("go", "build", "-o", crashBinaryPath, ".").CombinedOutput()
		if err != nil {
			crashBinaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if crashBinaryErr != nil {
		t.Fatal(crashBinaryErr)
	}
	return crashBinaryPath
}

// contentSums maps each regular file under root to the hash of its
// content; inTrash says whether to include the trash.
func contentSums(t *testing.T, root string, inTrash bool) map[string]string {
	t.Helper()
	sums := map[string]string{}
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && rel == mirror.TrashDir && !inTrash {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || (!strings.Contains(rel, "/") && strings.HasPrefix(rel, mirror.ReservedPrefix)) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sums[rel] = fmt.Sprintf("%x", sha256.Sum256(data))
		return nil
	}))
	return sums
}

// assertNothingLost checks the mirror at root after a run that was cut:
// every content it held before is still there (at its path or in the
// trash), every file under a real name holds either its old content or the
// source's, and no temporary stands anywhere but in the trash.
func assertNothingLost(t *testing.T, root string, before, source map[string]string, tempsAllowed bool) {
	t.Helper()
	present := map[string]bool{}
	for _, sum := range contentSums(t, root, true) {
		present[sum] = true
	}
	for p, sum := range before {
		if !present[sum] {
			t.Errorf("%s: its content before the run is gone from the mirror and its trash", p)
		}
	}
	for p, sum := range contentSums(t, root, false) {
		if strings.Contains(filepath.Base(p), ".backup-tmp-") {
			if !tempsAllowed {
				t.Errorf("%s: a temporary stands in the mirror", p)
			}
			continue
		}
		if sum != before[p] && sum != source[p] {
			t.Errorf("%s: holds neither its old content nor the source's (a half file?)", p)
		}
	}
}

// bulkTree writes n files of size bytes each under root/detrend/bulk, with
// content that depends on gen, and old mtimes.
func bulkTree(t *testing.T, root string, n, size int, gen byte) {
	t.Helper()
	past := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC).Add(time.Duration(gen) * time.Hour)
	must(t, os.MkdirAll(filepath.Join(root, "tests"), 0o755))
	for i := range n {
		p := filepath.Join(root, "detrend/bulk", fmt.Sprintf("d%02d/f%04d", i%50, i))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		data := []byte(strings.Repeat(fmt.Sprintf("%c%04d-", 'a'+gen, i), size/6+1)[:size])
		must(t, os.WriteFile(p, data, 0o644))
		must(t, os.Chtimes(p, past, past))
	}
}

// TestKillNineMidRun: a run killed with SIGKILL while it replaces files
// loses nothing, and the next run takes over the dead run's lock, removes
// its temporaries and completes.
func TestKillNineMidRun(t *testing.T) {
	for _, mk := range []struct {
		name string
		fn   hookEndpoints
	}{{"local", localEndpoints}, {"ssh", sshEndpoints}} {
		t.Run(mk.name, func(t *testing.T) {
			w, _ := mk.fn(t)
			b := w.base()
			bulkTree(t, b.src, 1500, 2000, 0)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "backup", "elixir")
			before := contentSums(t, b.dst, false)
			bulkTree(t, b.src, 1500, 2000, 1) // every file changes
			for i := 0; i < 1500; i += 7 {
				must(t, os.Remove(filepath.Join(b.src, "detrend/bulk", fmt.Sprintf("d%02d/f%04d", i%50, i))))
			}
			source := contentSums(t, b.src, false)
			killMidRun(t, w, b)
			assertNothingLost(t, b.dst, before, source, true) // a killed run cannot clean up
			r := w.run("backup", "elixir", "--max-delete", "100%")
			if r.code != 0 && r.code != 1 {
				t.Fatalf("the run after the kill: exit %d\n%s", r.code, r.stderr)
			}
			b.assertSame()
			assertNothingLost(t, b.dst, before, source, false)
		})
	}
}

// killMidRun starts the run as a process and kills it with SIGKILL once it
// has written part of the mirror (a journal and some replaced files).
func killMidRun(t *testing.T, w opsWorld, b *world) {
	t.Helper()
	args := append(append([]string{"--table", b.tab}, b.global...), "backup", "elixir", "--max-delete", "100%", "--workers", "2")
	cmd := exec.Command(crashBinary(t), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Lstat(filepath.Join(b.dst, mirror.JournalFile)); err == nil && changedFiles(b.dst) > 20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		// A machine fast enough to finish the run between two looks has
		// tested nothing; CI must not pass that off as a test.
		if testenv.CI() {
			t.Fatalf("the run ended before it could be killed (%v): %s", err, out.String())
		}
		t.Skipf("the run ended before it could be killed (%v): %s", err, out.String())
	}
}

// changedFiles counts the files of the second generation (content 'b')
// that reached the mirror.
func changedFiles(root string) int {
	n := 0
	filepath.WalkDir(filepath.Join(root, "detrend/bulk"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, ".backup-tmp-") {
			if f, err := os.Open(p); err == nil {
				var c [1]byte
				if _, err := f.Read(c[:]); err == nil && c[0] == 'b' {
					n++
				}
				f.Close()
			}
		}
		return nil
	})
	return n
}

// TestFullDisk: a mirror whose disk fills during a run fails the run
// (exit 4, the cause named), keeps every file it had, deletes nothing,
// leaves no temporary; once there is room the next run completes.
func TestFullDisk(t *testing.T) {
	testenv.NeedRoot(t) // to mount a small tmpfs as the mirror's disk
	for _, mk := range []struct {
		name string
		fn   hookEndpoints
	}{{"local", localEndpoints}, {"ssh", sshEndpoints}} {
		t.Run(mk.name, func(t *testing.T) {
			w, _ := mk.fn(t)
			b := w.base()
			must(t, exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", b.dst).Run())
			t.Cleanup(func() { exec.Command("umount", "-l", b.dst).Run() })
			bulkTree(t, b.src, 200, 4000, 0)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "backup", "elixir")
			before := contentSums(t, b.dst, false)
			bulkTree(t, b.src, 200, 4000, 1)
			must(t, os.Remove(filepath.Join(b.src, "detrend/bulk/d00/f0000")))
			writeFile(t, filepath.Join(b.src, "detrend/huge.bin"), strings.Repeat("x", 4<<20))
			source := contentSums(t, b.src, false)
			r := w.mustRun(4, "backup", "elixir")
			if !strings.Contains(r.stderr, "no space left") {
				t.Errorf("the error does not say the disk is full:\n%s", r.stderr)
			}
			assertNothingLost(t, b.dst, before, source, false)
			if _, err := os.Lstat(filepath.Join(b.dst, "detrend/bulk/d00/f0000")); err != nil {
				t.Errorf("a deletion happened in a failed run: %v", err)
			}
			must(t, exec.Command("mount", "-o", "remount,size=64m", b.dst).Run())
			w.mustRun(0, "backup", "elixir")
			b.assertSame()
		})
	}
}
