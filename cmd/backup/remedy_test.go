package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// quotedCommand finds the commands a message tells the admin to run.
var quotedCommand = regexp.MustCompile(`'(backup [^']*)'`)

// remedyCommands returns every 'backup ...' command quoted in text.
func remedyCommands(text string) []string {
	var out []string
	for _, m := range quotedCommand.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// assertCommandsParse fails unless every command quoted in text names a
// command of the CLI and only flags that command (or the global ones)
// defines: a remedy must be runnable as printed.
func assertCommandsParse(t *testing.T, text string) {
	t.Helper()
	app := newApp(nil, nil)
	for _, line := range remedyCommands(text) {
		args := strings.Fields(line)[1:]
		cmd := app.Command(args[0])
		if cmd == nil {
			t.Errorf("%q: no command %q", line, args[0])
			continue
		}
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "-") && !isFlag(cmd.Flags, a) && !isFlag(app.Flags, a) {
				t.Errorf("%q: %s has no flag %s", line, args[0], a)
			}
		}
	}
}

// remedyStep is one step of a walk: a hand action (mount a disk, save a
// file), then a command that the previous step's output quoted.
type remedyStep struct {
	by   func(t *testing.T, w *world) // what the admin does by hand first; may be nil
	cmd  string                       // "backup ...", quoted in the output before
	code int                          // its exit code
}

// TestRemediesFollowedLiterally: from each state a fence refuses, the
// admin runs exactly the commands the messages print, one after another,
// and ends with a mirror identical to the source and a backup that
// passes. Every quoted command in every message on the way parses.
func TestRemediesFollowedLiterally(t *testing.T) {
	needRsync(t)
	removeMirrorMarker := func(t *testing.T, w *world) { must(t, os.Remove(filepath.Join(w.dst, mirror.MarkerFile))) }
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		first string // the command that is refused first
		rule  string
		steps []remedyStep
	}{
		{"stale-source", promoteWhileAway(false), "backup backup elixir", "stale-source", []remedyStep{
			{cmd: "backup promote elixir --write-table"},
			{cmd: "backup check elixir", code: 1},
			{cmd: "backup backup elixir --discard-stale"},
		}},
		{"stale-mirror", promoteWhileAway(true), "backup backup elixir", "stale-mirror", []remedyStep{
			{cmd: "backup check elixir", code: 1},
			{cmd: "backup backup elixir --discard-stale"},
		}},
		{"table-swapped", func(t *testing.T, w *world) { w.writeTable(w.dst, w.src) }, "backup backup elixir", "table-swapped", []remedyStep{
			{cmd: "backup promote elixir --write-table"},
		}},
		{"no-source", func(t *testing.T, w *world) {
			editMarker(t, w.src, func(m *mirror.Marker) { m.Role, m.Epoch = mirror.RoleMirror, 2 })
		}, "backup backup elixir", "no-source", []remedyStep{
			{cmd: "backup promote elixir --write-table"},
		}},
		{"split-brain", func(t *testing.T, w *world) {
			editMarker(t, w.dst, func(m *mirror.Marker) { m.Role, m.Synced = mirror.RoleSource, nil })
		}, "backup backup elixir", "split-brain", []remedyStep{
			{cmd: "backup check elixir", code: 1}, // in sync, but a person is needed
			{by: removeMirrorMarker, cmd: "backup init elixir --adopt"},
		}},
		{"mirror-unmarked", removeMirrorMarker, "backup backup elixir", "mirror-unmarked", []remedyStep{
			{cmd: "backup check elixir", code: 1},
			{cmd: "backup init elixir --adopt"},
		}},
		{"source-unmarked", func(t *testing.T, w *world) { must(t, os.Remove(filepath.Join(w.src, mirror.MarkerFile))) },
			"backup backup elixir", "source-unmarked", []remedyStep{
				{cmd: "backup check elixir", code: 1},
				{by: removeMirrorMarker, cmd: "backup init elixir --adopt"},
			}},
		{"source-unmounted", emptySource, "backup backup elixir", "source-unmounted", []remedyStep{
			{cmd: "backup restore elixir"},
		}},
		{"source-empty", markerOnBlankDisk, "backup backup elixir", "source-empty", []remedyStep{
			{cmd: "backup restore elixir"},
		}},
		{"mirror-changed", func(t *testing.T, w *world) {
			writeFile(t, filepath.Join(w.dst, "detrend/user wrote this.txt"), "new on the mirror")
		}, "backup backup elixir", "mirror-changed", []remedyStep{
			{cmd: "backup backup elixir --overwrite-mirror-changes"},
		}},
		{"max-delete", removeOnSource(3), "backup backup elixir --max-delete 2", "max-delete", []remedyStep{
			{cmd: "backup backup elixir -n --max-delete 2", code: 3},
			{cmd: "backup backup elixir --max-delete 3"},
		}},
		{"source-alive", nil, "backup promote elixir --write-table", "source-alive", []remedyStep{
			{cmd: "backup swap elixir"},
		}},
		{"mirror-not-empty", func(t *testing.T, w *world) {
			for _, root := range []string{w.src, w.dst} {
				must(t, os.Remove(filepath.Join(root, mirror.MarkerFile)))
			}
		}, "backup init elixir", "mirror-not-empty", []remedyStep{
			{cmd: "backup check elixir", code: 1},
			{cmd: "backup init elixir --adopt"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := syncedWorld(t, false)
			if c.setup != nil {
				c.setup(t, w)
			}
			r := w.mustRun(3, strings.Fields(c.first)[1:]...)
			assertWords(t, r.stderr, []string{"refused:", "what to do:"})
			if rule := refusalRule(t, w, c.first); rule != c.rule {
				t.Fatalf("%s: refused by %q, want %q", c.first, rule, c.rule)
			}
			out := r.stdout + r.stderr
			for _, s := range c.steps {
				assertCommandsParse(t, out)
				if !slices.Contains(remedyCommands(out), s.cmd) {
					t.Fatalf("the output does not tell the admin to run %q:\n%s", s.cmd, out)
				}
				if s.by != nil {
					s.by(t, w)
				}
				r = w.mustRun(s.code, strings.Fields(s.cmd)[1:]...)
				out = r.stdout + r.stderr
			}
			assertCommandsParse(t, out)
			w.mustRun(0, "backup", "elixir")
			w.assertSame()
			w.mustRun(0, "check", "elixir")
		})
	}
}

// refusalRule runs cmd again with --log-format json and returns the rule
// its final record names.
func refusalRule(t *testing.T, w *world, cmd string) string {
	t.Helper()
	r := w.run(append([]string{"--log-format", "json"}, strings.Fields(cmd)[1:]...)...)
	m := regexp.MustCompile(`"rule":"([^"]*)"`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("%s --log-format json: no rule in\n%s", cmd, r.stderr)
	}
	return m[1]
}

// TestPromoteSafeToRepeat: a promote that already happened changes no
// marker again: rerun with --write-table it rewrites the table, with -n it
// says what it would write, and once the table agrees a rerun is refused
// with what to do, writing nothing.
func TestPromoteSafeToRepeat(t *testing.T) {
	w := syncedWorld(t, false)
	orig, err := os.ReadFile(w.tab)
	must(t, err)
	must(t, os.Rename(w.src, w.src+".away"))
	r := w.mustRun(0, "promote", "elixir")
	assertWords(t, r.stdout, []string{"promoted " + w.dst, "epoch 2", "SOURCE  " + w.dst, "MIRROR  " + w.src, "'backup promote elixir --write-table'"})
	marker, err := os.ReadFile(filepath.Join(w.dst, mirror.MarkerFile))
	must(t, err)
	assertTableIs(t, w, string(orig))

	before := snapshot(t, w.dir)
	for _, args := range [][]string{{"promote", "elixir", "-n"}, {"promote", "elixir", "--write-table", "-n"}, {"promote", "elixir"}} {
		r = w.mustRun(0, args...)
		assertWords(t, r.stdout, []string{"is already the source", "no marker changed"})
		assertUnchanged(t, w.dir, before)
	}
	r = w.mustRun(0, "promote", "elixir", "--write-table")
	assertWords(t, r.stdout, []string{"is already the source", "now says: SOURCE " + w.dst + ", MIRROR " + w.src, "next:", "'backup check elixir'", "--discard-stale"})
	if now, err := os.ReadFile(filepath.Join(w.dst, mirror.MarkerFile)); err != nil || string(now) != string(marker) {
		t.Fatalf("the marker was written again: %q %v", now, err)
	}
	if tab := string(mustRead(t, w.tab)); !strings.Contains(tab, "SOURCE  "+w.dst+"\n") || !strings.Contains(tab, "MIRROR  "+w.src+"\n") {
		t.Fatalf("table not rewritten:\n%s", tab)
	}

	// The table agrees now; the old source is still away.
	before = snapshot(t, w.dir)
	r = w.mustRun(3, "promote", "elixir", "--write-table")
	assertWords(t, r.stderr, []string{"nothing to promote", "answers as the source (epoch 2)", "'backup status elixir'"})
	assertUnchanged(t, w.dir, before)
	// And with the old source back, in the MIRROR position.
	must(t, os.Rename(w.src+".away", w.src))
	before = snapshot(t, w.dir)
	r = w.mustRun(3, "promote", "elixir", "--write-table")
	assertWords(t, r.stderr, []string{"nothing to promote", "stale former source", "'backup check elixir'", "'backup backup elixir --discard-stale'"})
	assertUnchanged(t, w.dir, before)
	assertCommandsParse(t, r.stderr)
}

func assertTableIs(t *testing.T, w *world, want string) {
	t.Helper()
	if got := string(mustRead(t, w.tab)); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}

// TestDryRunPrintsPlanThenRefusal: a dry run refused by a rule on the plan
// (max-delete) prints the whole plan, the deletions included, on stdout,
// then the refusal on stderr, and exits 3 writing nothing.
func TestDryRunPrintsPlanThenRefusal(t *testing.T) {
	w := syncedWorld(t, false)
	removeOnSource(3)(t, w)
	before := snapshot(t, w.dir)
	r := w.mustRun(3, "backup", "elixir", "-n", "--max-delete", "2")
	assertWords(t, r.stdout, []string{"*deleting   detrend/one.txt", "*deleting   detrend/empty.dat", "*deleting   tests/run.sh", "total:", "3 deletions"})
	assertWords(t, r.stderr, []string{"refused:", "would delete 3 of the", "what to do:"})
	assertUnchanged(t, w.dir, before)
	// A real run refused so writes nothing and prints no plan.
	r = w.mustRun(3, "backup", "elixir", "--max-delete", "2")
	if strings.Contains(r.stdout, "*deleting") {
		t.Errorf("a refused real run printed its plan:\n%s", r.stdout)
	}
	assertUnchanged(t, w.dir, before)
}
