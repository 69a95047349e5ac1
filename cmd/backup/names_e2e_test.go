package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// byteNames are names a Linux tree may hold that are not UTF-8 or that a
// shell or a line-based parser would mangle; each is mirrored exactly.
var byteNames = []string{
	"caf\xe9",                // Latin-1 é: not UTF-8
	"\xff\xfe bom",           // bytes that start no UTF-8 character
	"new\nline", "tab\there", // a line break would forge a line of the plan
	`back\slash`, `\#012 looks escaped`, "-leading-dash", "--", " spaces  in it ",
	"del\x7f", "\x01ctl",
	"\xe9" + strings.Repeat("n", 254), // 255 bytes: NAME_MAX
}

// makeByteNames puts each of byteNames in detrend as a file, and as a
// directory holding a file and a symlink to it. They were written a
// minute ago: a copy made within seconds of its source's mtime is
// "unsure" for check --mirror-only (see TestRacyCopyRechecked).
func makeByteNames(t *testing.T, root string) {
	t.Helper()
	past := time.Now().Add(-time.Minute)
	for _, n := range byteNames {
		writeFile(t, filepath.Join(root, "detrend", n), "file "+n)
		must(t, os.Chtimes(filepath.Join(root, "detrend", n), past, past))
		if len(n) < 250 {
			writeFile(t, filepath.Join(root, "detrend", "d "+n, n), "in dir "+n)
			must(t, os.Symlink(n, filepath.Join(root, "detrend", "d "+n, "link "+n)))
			must(t, os.Chtimes(filepath.Join(root, "detrend", "d "+n, n), past, past))
		}
	}
}

// TestByteNamesMirrored: names that are bytes, not UTF-8, and names with
// newlines, tabs, backslashes, dashes, spaces, DEL and 255 bytes are
// mirrored exactly (rsync says so), locally and over sshd both ways; the
// second run plans nothing, a removed one is deleted, and plans and JSON
// show them escaped so that ParseDisplayName gives back the bytes.
func TestByteNamesMirrored(t *testing.T) {
	for _, mode := range []string{"local", "ssh-third-host", "ssh-on-mirror-host"} {
		t.Run(mode, func(t *testing.T) {
			var w *world
			switch mode {
			case "local":
				w = newWorld(t, "detrend")
			default:
				w = newSSHWorld(t, mode == "ssh-on-mirror-host", "detrend").world
			}
			makeByteNames(t, w.src)
			ageFiles(t, w.src, time.Minute) // not racy: check --mirror-only can trust them
			w.mustRun(0, "init", "elixir")
			r := w.mustRun(0, "backup", "elixir", "--dry-run")
			for _, n := range byteNames {
				if !strings.Contains(r.stdout, "detrend/"+mirror.DisplayName(n)+"\n") {
					t.Errorf("dry run lacks %q escaped as %q:\n%s", n, mirror.DisplayName(n), r.stdout)
				}
			}
			assertPlanJSONNames(t, w.mustRun(0, "backup", "elixir", "--dry-run", "--json").stdout)
			w.mustRun(0, "backup", "elixir")
			w.assertSame()
			if r := w.mustRun(0, "-v", "backup", "elixir"); !strings.Contains(r.stdout, "total: 0 files (0 B) to copy, 0 dirs to create, 0 links, 0 metadata changes, 0 deletions") {
				t.Errorf("second run is not empty:\n%s", r.stdout)
			}
			must(t, os.Remove(filepath.Join(w.src, "detrend", byteNames[0])))
			must(t, os.RemoveAll(filepath.Join(w.src, "detrend", "d "+byteNames[2])))
			w.mustRun(0, "backup", "elixir")
			w.assertSame()
			w.mustRun(0, "check", "elixir")
			w.mustRun(0, "check", "elixir", "--mirror-only")
		})
	}
}

// assertPlanJSONNames checks that a --json plan is valid UTF-8 JSON whose
// paths, parsed back with ParseDisplayName, are exactly the names made.
func assertPlanJSONNames(t *testing.T, out string) {
	t.Helper()
	var plan struct {
		Actions []struct{ Path, Link string }
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("json plan: %v\n%s", err, out)
	}
	if strings.ContainsRune(out, '\uFFFD') {
		t.Errorf("the JSON plan lost bytes to U+FFFD:\n%s", out)
	}
	var paths []string
	for _, a := range plan.Actions {
		p, err := mirror.ParseDisplayName(a.Path)
		if err != nil {
			t.Fatalf("action path %q: %v", a.Path, err)
		}
		paths = append(paths, p)
	}
	for _, n := range byteNames {
		if !slices.Contains(paths, "detrend/"+n) {
			t.Errorf("JSON plan lacks %q (has %q)", n, paths)
		}
	}
}

// TestLogEscapesNames: a problem naming a file that is not UTF-8 is logged
// escaped, in text and in JSON (where encoding/json would otherwise turn
// the byte into U+FFFD), and the final error too.
func TestLogEscapesNames(t *testing.T) {
	for _, format := range []string{logText, logJSON} {
		var b strings.Builder
		newLogger(&b, format, false).Warn("open detrend/caf\xe9: permission denied", "path", "caf\xe9")
		logFinal(&b, format, errors.New("copy detrend/caf\xe9: input/output error"), exitFailed)
		out, want := b.String(), `caf\#351`
		if format == logJSON {
			want = `caf\\#351` // the backslash, in a JSON string
		}
		if strings.ContainsRune(out, utf8.RuneError) || !utf8.ValidString(out) || strings.Count(out, want) != 3 {
			t.Errorf("%s log does not show %s three times:\n%s", format, want, out)
		}
	}
}

// ageFiles sets the mtime of every regular file under root to d ago, so
// that a run does not take them for racy (changed within its mtime tick).
func ageFiles(t *testing.T, root string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	must(t, filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			err = os.Chtimes(p, old, old)
		}
		return err
	}))
}
