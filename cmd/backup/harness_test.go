package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// world is a target with two local copies and a table naming them.
type world struct {
	t        *testing.T
	dir      string
	src, dst string // the copies' roots
	tab      string // the table file
	dirs     []string
	global   []string // global flags given to every run
}

// newWorld makes a source and a mirror root and a table for target
// "elixir" with the given DIRs (none: the whole root).
func newWorld(t *testing.T, dirs ...string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, dir: dir, src: filepath.Join(dir, "uhane", "elixir"), dst: filepath.Join(dir, "mamane", "elixir.mirror"), dirs: dirs}
	for _, p := range []string{w.src, w.dst} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.tab = filepath.Join(dir, "backup.tab")
	w.writeTable(w.src, w.dst)
	return w
}

func (w *world) writeTable(src, dst string) {
	var b strings.Builder
	fmt.Fprintf(&b, " # /data/elixir\n TARGET  elixir\n         SOURCE  %s\n         MIRROR  %s\n", src, dst)
	for _, d := range w.dirs {
		fmt.Fprintf(&b, "         DIR     %s\n", d)
	}
	if err := os.WriteFile(w.tab, []byte(b.String()), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// result is what one in-process run of the CLI gave.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the CLI in-process with the world's table.
func (w *world) run(args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	full := append(append([]string{"backup", "--table", w.tab}, w.global...), args...)
	code := run(context.Background(), full, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustRun runs the CLI and fails the test unless it exits with want.
func (w *world) mustRun(want int, args ...string) result {
	w.t.Helper()
	r := w.run(args...)
	if r.code != want {
		w.t.Fatalf("backup %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// scope is a pair of directories the oracle compares, and whether they are
// the copies' roots, where the ".backup-" names are the tool's own.
type scope struct {
	src, dst string
	root     bool
}

// scopes returns the pairs of directories the oracle compares.
func (w *world) scopes() []scope {
	if len(w.dirs) == 0 {
		return []scope{{w.src, w.dst, true}}
	}
	var out []scope
	for _, d := range w.dirs {
		out = append(out, scope{filepath.Join(w.src, d), filepath.Join(w.dst, d), false})
	}
	return out
}

// assertSame asks rsync, an independent oracle, whether the copies are
// identical within the DIRs: content (-c), modes, times, links, owners.
func (w *world) assertSame() {
	w.t.Helper()
	for _, s := range w.scopes() {
		if out := rsyncDiff(w.t, s.src, s.dst, s.root); out != "" {
			w.t.Fatalf("rsync sees differences between %s and %s:\n%s", s.src, s.dst, out)
		}
	}
}

// rsyncDiff returns what rsync -a -c -n -i --delete would change to make
// b like a. At the copies' roots (root) it leaves out the tool's own names
// there; inside a DIR every name is the users', ".backup-" names included.
func rsyncDiff(t *testing.T, a, b string, root bool) string {
	t.Helper()
	rsync := needRsync(t)
	args := []string{"-a", "-c", "-n", "-i", "--delete"}
	if root {
		args = append(args, "--exclude=/.backup-*")
	}
	cmd := exec.Command(rsync, append(args, a+"/", b+"/")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rsync: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func needRsync(t testing.TB) string {
	return testenv.LookPath(t, "rsync", "rsync as the test oracle (apt-get install rsync)")
}

// snapshot records every path under root (the tool's own files included)
// with type, mode, size, mtime, owner and content hash, to prove a refused or
// dry run changed nothing at all.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			desc += fmt.Sprintf(" %d:%d", st.Uid, st.Gid) // owners too
		}
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			desc += " " + hex.EncodeToString(sum[:8])
		case fi.Mode()&fs.ModeSymlink != 0:
			link, _ := os.Readlink(p)
			desc += " -> " + link
		}
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// assertUnchanged fails if root differs from an earlier snapshot.
func assertUnchanged(t *testing.T, root string, before map[string]string) {
	t.Helper()
	after := snapshot(t, root)
	var diffs []string
	for p, d := range before {
		if after[p] != d {
			diffs = append(diffs, fmt.Sprintf("%s: was %q, now %q", p, d, after[p]))
		}
	}
	for p, d := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: new (%s)", p, d))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Fatalf("%s changed:\n%s", root, strings.Join(diffs, "\n"))
	}
}

// makeTree fills root with what a data partition holds: nested and empty
// directories, symlinks (relative, absolute, dangling), executables, files
// from 0 B to several MiB, names with spaces, quotes and non-ASCII letters.
func makeTree(t *testing.T, root string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string]int{
		"detrend/empty.dat":              0,
		"detrend/one.txt":                1,
		"detrend/2026/nov/frame1.fits":   4096,
		"detrend/2026/nov/frame 2.fits":  70000,
		"detrend/2026/dec/big.bin":       3<<20 + 17,
		"detrend/données/été.txt":        1234,
		"detrend/it's \"quoted\".txt":    10,
		"detrend/-leading-dash":          5,
		"tests/run.sh":                   64,
		"tests/nested/a/b/c/deep.txt":    300,
		"other/not-in-scope.txt":         10,
		"tests/日本語 ファイル.txt":             99,
		"detrend/2026/nov/large.fits":    1<<20 + 3,
		"tests/space at end ":            7,
		"detrend/2026/nov/frame3.fits":   4096,
		"detrend/2026/nov/#hash.fits":    12,
		"detrend/2026/nov/percent%.fits": 13,
	}
	for name, size := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Chmod(filepath.Join(root, "tests/run.sh"), 0o755))
	must(t, os.Chmod(filepath.Join(root, "detrend/one.txt"), 0o600))
	must(t, os.MkdirAll(filepath.Join(root, "detrend/empty dir"), 0o750))
	must(t, os.MkdirAll(filepath.Join(root, "tests/empty"), 0o700))
	must(t, os.Symlink("2026/nov", filepath.Join(root, "detrend/latest")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(root, "detrend/absolute-link")))
	must(t, os.Symlink("does/not/exist", filepath.Join(root, "tests/dangling")))
	// Old, distinct mtimes, as real data has.
	past := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 || p == root {
			return err
		}
		past = past.Add(time.Minute + 7*time.Millisecond)
		return os.Chtimes(p, past, past)
	}))
}

// addLookalikes adds to root, inside DIRs detrend and tests, names that
// start with the tool's prefix: there they are the users' like any other,
// mirrored and compared (a temporary's form with no run's token too).
func addLookalikes(t *testing.T, root string) {
	t.Helper()
	for name, content := range map[string]string{
		"detrend/.backup-notes.txt": "the users' notes",
		"tests/.backup-id":          "not a marker",
		"detrend/2026/.backup-tmp-0123456789abcdef-00000000-x.fits": "no run made me",
		"tests/.backup-trash/kept.txt":                              "a users' directory",
	} {
		writeFile(t, filepath.Join(root, name), content)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}
