package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/transport"
)

// addTarget appends a target with its own two local copies to w's table
// and returns their roots.
func addTarget(t *testing.T, w *world, name string) (src, dst string) {
	t.Helper()
	src, dst = filepath.Join(w.dir, name+"-src"), filepath.Join(w.dir, name+"-mirror")
	must(t, os.MkdirAll(src, 0o755))
	must(t, os.MkdirAll(dst, 0o755))
	f, err := os.OpenFile(w.tab, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = fmt.Fprintf(f, " TARGET %s\n SOURCE %s\n MIRROR %s\n", name, src, dst)
	must(t, err)
	must(t, f.Close())
	return src, dst
}

// TestBackupAll: "all" runs every target one after another, each with its
// own lock and result; one refused target does not stop the others, and
// the exit is the worst.
func TestBackupAll(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	aSrc, aDst := addTarget(t, w, "alpha")
	writeFile(t, filepath.Join(aSrc, "a.txt"), "alpha")
	bSrc, bDst := addTarget(t, w, "beta")
	writeFile(t, filepath.Join(bSrc, "b.txt"), "beta")
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "init", "alpha") // beta is not initialised: refused
	r := w.mustRun(3, "backup", "all")
	assertWords(t, r.stderr, []string{"backup: beta: refused:", "no identity marker"})
	if strings.Contains(r.stderr, "elixir:") || strings.Contains(r.stderr, "alpha:") {
		t.Errorf("a target that went well reported something:\n%s", r.stderr)
	}
	w.assertSame()
	if b, err := os.ReadFile(filepath.Join(aDst, "a.txt")); err != nil || string(b) != "alpha" {
		t.Errorf("alpha not copied: %q %v", b, err)
	}
	if entries, _ := os.ReadDir(bDst); len(entries) != 0 {
		t.Errorf("refused beta's mirror was written: %v", entries)
	}
	for _, root := range []string{w.dst, aDst} {
		lr, err := mirror.ReadLastRun(openFS(t, root))
		if err != nil || lr == nil || lr.Result != mirror.ResultOK {
			t.Errorf("%s: run record %+v, %v", root, lr, err)
		}
		if _, err := os.Stat(filepath.Join(root, mirror.LockFile)); !os.IsNotExist(err) {
			t.Errorf("%s: lock left behind: %v", root, err)
		}
	}
	w.mustRun(0, "init", "beta")
	w.mustRun(0, "backup", "beta", "all", "elixir") // each once
}

// TestSettingsOnTheCommandLine: a mistake in backup.toml is exit 2 naming
// file, line and key; a target's setting overrides the defaults; a flag
// given overrides both.
func TestSettingsOnTheCommandLine(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	tests := []struct {
		name, config string
		args         []string
		want         int
		words        []string
	}{
		{"unknown key", "[defaults]\nworkers = 2\n\n[targets.elixir]\nbefor = 'x'\n", nil, 2,
			[]string{"backup.toml:5: targets.elixir.befor: unknown key"}},
		{"wrong type", "[targets.elixir]\nwindow = 20\n", nil, 2,
			[]string{"backup.toml:2: targets.elixir.window: want a duration string"}},
		{"misspelt target", "[targets.elixr]\nbefore = 'x'\n", nil, 2,
			[]string{"backup.toml:1: targets.elixr: no such target in the table (targets: elixir)"}},
		{"target overrides defaults", "[defaults]\nmax_delete = \"100%\"\n[targets.elixir]\nmax_delete = 0\n", nil, 3,
			[]string{"refused:", "more than --max-delete 0 allows"}},
		{"defaults apply", "[defaults]\nmax_delete = 0\n", nil, 3, []string{"refused:"}},
		{"flag overrides both", "[defaults]\nmax_delete = 0\n[targets.elixir]\nmax_delete = 0\n", []string{"--max-delete", "5"}, 0, nil}, // last: it deletes
	}
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, w, tt.config)
			r := w.mustRun(tt.want, append(append(cfg, "backup", "elixir"), tt.args...)...)
			assertWords(t, r.stderr, tt.words)
		})
	}
	// $BACKUP_CONFIG is the next place looked at.
	p := filepath.Join(w.dir, "env.toml")
	must(t, os.WriteFile(p, []byte("[nonsense]\n"), 0o644))
	t.Setenv("BACKUP_CONFIG", p)
	r := w.mustRun(2, "backup", "elixir")
	assertWords(t, r.stderr, []string{"env.toml:1: nonsense: unknown table"})
}

// TestLogFormatJSON: with --log-format json every warning and the final
// error are JSON records a log shipper can read.
func TestLogFormatJSON(t *testing.T) {
	w := newWorld(t, "detrend")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	cfg := writeConfig(t, w, "[targets.elixir]\nwindow = \"1ns\"\n")
	r := w.mustRun(1, append(cfg, "--log-format", "json", "backup", "elixir")...)
	recs := jsonRecords(t, r.stderr)
	if len(recs) != 2 || recs[0]["level"] != "WARN" || recs[0]["target"] != "elixir" ||
		!strings.HasPrefix(recs[0]["msg"].(string), "copy outlasted the freeze window") {
		t.Errorf("warning record: %v", recs)
	}
	if last := recs[len(recs)-1]; last["level"] != "ERROR" || last["exit"] != 1.0 {
		t.Errorf("final record: %v", last)
	}
	must(t, os.RemoveAll(w.src))
	r = w.mustRun(3, "--log-format", "json", "backup", "elixir")
	recs = jsonRecords(t, r.stderr)
	if len(recs) != 1 || recs[0]["exit"] != 3.0 || !strings.Contains(recs[0]["msg"].(string), "not mounted?") {
		t.Errorf("refusal record: %v", recs)
	}
	w.mustRun(2, "--log-format", "xml", "targets")
}

func jsonRecords(t *testing.T, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	testenv.Require(t, "pseudo-terminals (/dev/ptmx)", err)
	t.Cleanup(func() { master.Close() })
	must(t, unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	must(t, err)
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	must(t, err)
	return master, tty
}

// TestProgressOnlyOnATerminal: the same run shows progress when stderr is
// a terminal, and prints nothing at all when it is a file or a pipe (cron)
// and went well; --progress and --no-progress force it.
func TestProgressOnlyOnATerminal(t *testing.T) {
	defer func(old time.Duration) { progressInterval = old }(progressInterval)
	progressInterval = 5 * time.Millisecond // several redraws during the copy
	tests := []struct {
		name     string
		terminal bool
		flags    []string
		want     bool
	}{
		{"terminal", true, nil, true},
		{"file", false, nil, false},
		{"terminal --no-progress", true, []string{"--no-progress"}, false},
		{"file --progress", false, []string{"--progress"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "detrend", "tests")
			makeTree(t, w.src)
			w.mustRun(0, "init", "elixir")
			var stderr *os.File
			var output func() string
			if tt.terminal {
				master, tty := openPTY(t)
				var buf bytes.Buffer
				done := make(chan struct{})
				go func() { _, _ = io.Copy(&buf, master); close(done) }()
				stderr, output = tty, func() string { tty.Close(); <-done; return buf.String() }
			} else {
				f, err := os.Create(filepath.Join(w.dir, "stderr.log"))
				must(t, err)
				stderr, output = f, func() string { f.Close(); b, _ := os.ReadFile(f.Name()); return string(b) }
			}
			var stdout bytes.Buffer
			args := append([]string{"backup", "--table", w.tab}, tt.flags...)
			code := run(context.Background(), append(args, "backup", "elixir"), &stdout, stderr)
			out := output()
			if code != 0 || stdout.Len() != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), out)
			}
			w.assertSame()
			shown := strings.Contains(out, "copying: 16/16 files, ") && strings.Contains(out, "/s, ETA ")
			if shown != tt.want || (!tt.want && out != "") {
				t.Errorf("progress shown %v, want %v; stderr:\n%q", shown, tt.want, out)
			}
		})
	}
}

func openFS(t *testing.T, root string) transport.FS {
	t.Helper()
	fsys, err := transport.OpenLocal(root)
	must(t, err)
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

// TestCheckProgress: check shows its hashing, files and bytes of the total.
func TestCheckProgress(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	r := w.mustRun(0, "check", "elixir", "--progress")
	assertWords(t, r.stderr, []string{"comparing: 16/16 files, ", "/s, ETA 0s"})
	if r = w.mustRun(0, "check", "elixir"); r.stderr != "" {
		t.Errorf("check printed progress without a terminal: %q", r.stderr)
	}
}
