package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// opsWorld is a target whose copies the hook tests can reach: local copies
// (world) or the SSH test hosts (sshWorld). base gives the local paths of
// the copies: the SSH test hosts are loopback addresses of this machine.
type opsWorld interface {
	base() *world
	run(args ...string) result
	mustRun(want int, args ...string) result
}

func (w *world) base() *world { return w }

// hookEndpoints builds a fresh world with the seed's DIRs and says what
// a hook on the SOURCE host finds in $SSH_CONNECTION: "local" when it ran
// on this machine without SSH, else the source host's address.
type hookEndpoints func(t *testing.T) (w opsWorld, sourceHost string)

func localEndpoints(t *testing.T) (opsWorld, string) { return newWorld(t, "detrend", "tests"), "local" }

func sshEndpoints(t *testing.T) (opsWorld, string) {
	sw := newSSHWorld(t, false, "detrend", "tests")
	return sw, sw.srv.Host("uhane").IP
}

// writeConfig writes backup.toml beside the table and returns the global
// flags that use it.
func writeConfig(t *testing.T, w *world, text string) []string {
	t.Helper()
	p := filepath.Join(w.dir, "backup.toml")
	must(t, os.WriteFile(p, []byte(text), 0o644))
	return []string{"--config", p}
}

// dataSnapshot is a snapshot of a copy without its root (whose mtime a
// lock leaves changed) and the run record, which even a failed run writes.
func dataSnapshot(t *testing.T, root string) map[string]string {
	snap := snapshot(t, root)
	delete(snap, ".")
	delete(snap, mirror.LastRunFile)
	return snap
}

// assertDataUnchanged fails if the copy's data, manifest, marker, journal
// or lock differ from an earlier dataSnapshot.
func assertDataUnchanged(t *testing.T, root string, before map[string]string) {
	t.Helper()
	if after := dataSnapshot(t, root); !maps.Equal(after, before) {
		t.Fatalf("%s changed:\nbefore %v\nafter  %v", root, before, after)
	}
}

func TestHooksLocal(t *testing.T) { testHooks(t, localEndpoints) }

// TestHooksOverSSH runs the same cases with the SOURCE on the SSH test host
// uhane: the hooks must run there, over SSH.
func TestHooksOverSSH(t *testing.T) { testHooks(t, sshEndpoints) }

// testHooks is issue 5's "done when" for hooks, on the endpoints mk makes.
func testHooks(t *testing.T, mk hookEndpoints) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, mk hookEndpoints)
	}{
		{"before and after run in order on the source host", hooksRunInOrder},
		{"a window shorter than the copy", hooksWindow},
		{"a failing before copies nothing", hooksFailingBefore},
		{"a hook that hangs is killed at its timeout", hooksHang},
		{"a dry run says which hooks it would run", hooksDryRun},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, mk) })
	}
}

// hooksRunInOrder: before runs on the source host before the plan (what it
// writes is copied), after once the copy is done; a run that went well
// prints nothing without -v, and the hooks' output with it.
func hooksRunInOrder(t *testing.T, mk hookEndpoints) {
	w, host := mk(t)
	b := w.base()
	makeTree(t, b.src)
	cfg := writeConfig(t, b, `[targets.elixir]
before = 'echo "before ${SSH_CONNECTION:-local}" >> hooks.log; echo mark > detrend/mark.txt; touch frozen.flag; echo frozen-now'
after  = 'echo "after $(test -f `+b.dst+`/detrend/mark.txt && echo copied)" >> hooks.log; rm frozen.flag'
`)
	w.mustRun(0, "init", "elixir")
	r := w.mustRun(0, append(cfg, "backup", "elixir")...)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("a successful run without -v printed:\nstdout %q\nstderr %q", r.stdout, r.stderr)
	}
	log, err := os.ReadFile(filepath.Join(b.src, "hooks.log"))
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "before ") || !strings.Contains(lines[0], host) || lines[1] != "after copied" {
		t.Fatalf("hooks.log on the source: %q; want before (on %s), then after, once the copy was done", lines, host)
	}
	if _, err := os.Stat(filepath.Join(b.src, "frozen.flag")); !os.IsNotExist(err) {
		t.Errorf("the after hook did not remove what before made: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(b.dst, "detrend/mark.txt")); err != nil || string(got) != "mark\n" {
		t.Errorf("the mark the before hook wrote was not copied: %q %v", got, err)
	}
	b.assertSame()
	r = w.mustRun(0, append(cfg, "-v", "backup", "elixir")...)
	assertWords(t, r.stderr, []string{"backup: elixir: frozen-now hook=before", "stream=stdout"})
}

// hooksWindow: a copy longer than the window completes, exits 1 and says so.
func hooksWindow(t *testing.T, mk hookEndpoints) {
	w, _ := mk(t)
	b := w.base()
	makeTree(t, b.src)
	cfg := writeConfig(t, b, "[targets.elixir]\nbefore = \"true\"\nwindow = \"1us\"\n")
	w.mustRun(0, "init", "elixir")
	r := w.mustRun(1, append(cfg, "backup", "elixir")...)
	assertWords(t, r.stderr, []string{"warning: copy outlasted the freeze window (took ", ", window 1µs)"})
	b.assertSame()
	r = w.mustRun(0, "status", "elixir", "--max-age", "1h")
	assertWords(t, r.stdout, []string{"last run:     backup elixir: warnings", "warning: copy outlasted the freeze window"})
}

// hooksFailingBefore: nothing is copied, after does not run, exit 4, and
// status shows the failed run.
func hooksFailingBefore(t *testing.T, mk hookEndpoints) {
	w, _ := mk(t)
	b := w.base()
	makeTree(t, b.src)
	cfg := writeConfig(t, b, "[targets.elixir]\nbefore = 'echo cannot freeze >&2; exit 7'\nafter = 'touch after.ran'\n")
	w.mustRun(0, "init", "elixir")
	before := dataSnapshot(t, b.dst)
	r := w.mustRun(4, append(cfg, "backup", "elixir")...)
	assertWords(t, r.stderr, []string{"before hook on ", "failed: ", "exited with status 7", "cannot freeze"})
	assertDataUnchanged(t, b.dst, before)
	if _, err := os.Stat(filepath.Join(b.src, "after.ran")); !os.IsNotExist(err) {
		t.Errorf("after ran although before failed: %v", err)
	}
	r = w.mustRun(0, "status", "elixir")
	assertWords(t, r.stdout, []string{"complete run: never", "last run:     backup elixir: failed", "exited with status 7"})
}

// hooksHang: a hook that hangs is killed at its timeout, with its children.
func hooksHang(t *testing.T, mk hookEndpoints) {
	w, _ := mk(t)
	b := w.base()
	makeTree(t, b.src)
	cfg := writeConfig(t, b, "[defaults]\nhook_timeout = \"500ms\"\n[targets.elixir]\nbefore = '(sleep 1; touch late); sleep 30'\n")
	w.mustRun(0, "init", "elixir")
	before := dataSnapshot(t, b.dst)
	began := time.Now()
	r := w.mustRun(4, append(cfg, "backup", "elixir")...)
	// The hook sleeps 30s unless killed at its 500ms timeout; the bound
	// leaves room for a loaded machine.
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the hung hook held the run for %s", took)
	}
	assertWords(t, r.stderr, []string{"before hook on ", "timed out after 500ms and was killed"})
	assertDataUnchanged(t, b.dst, before)
	time.Sleep(1500 * time.Millisecond) // a surviving child of the hook would have touched "late"
	if _, err := os.Stat(filepath.Join(b.src, "late")); !os.IsNotExist(err) {
		t.Errorf("the hung hook was not killed whole: %v", err)
	}
}

// hooksDryRun: a dry run runs no hook and says which it would run.
func hooksDryRun(t *testing.T, mk hookEndpoints) {
	w, _ := mk(t)
	b := w.base()
	makeTree(t, b.src)
	cfg := writeConfig(t, b, "[targets.elixir]\nbefore = 'touch ran'\nafter = 'touch ran'\nwindow = \"20s\"\n")
	w.mustRun(0, "init", "elixir")
	r := w.mustRun(0, append(cfg, "backup", "elixir", "--dry-run")...)
	assertWords(t, r.stdout, []string{"would run the before hook on ", "(timeout 5m0s): touch ran", "would run the after hook on ",
		"freeze window of 20s", ">f+++++++++ detrend/one.txt"})
	if _, err := os.Stat(filepath.Join(b.src, "ran")); !os.IsNotExist(err) {
		t.Errorf("a dry run ran a hook: %v", err)
	}
}

// TestSSHSettingsFromConfig: the [ssh] table of backup.toml is used when
// no flag names an ssh_config or known_hosts.
func TestSSHSettingsFromConfig(t *testing.T) {
	sw := newSSHWorld(t, false, "detrend")
	sw.global = nil // the plain world: no SSH flags
	makeTree(t, sw.src)
	cfg := writeConfig(t, sw.world, "[ssh]\nconfig = '"+sw.srv.Config+"'\nknown_hosts = '"+sw.srv.KnownHosts+"'\nconnect_timeout = \"10s\"\n")
	sw.world.mustRun(0, append(cfg, "init", "elixir")...) // the plain world: no SSH flags
	sw.world.mustRun(0, append(cfg, "backup", "elixir")...)
	sw.assertSame()
	r := sw.world.mustRun(0, append(cfg, "status", "elixir")...)
	assertWords(t, r.stdout, []string{"source copy:  role source, epoch 1", "mirror copy:  role mirror, epoch 1", "last run:     backup elixir: ok"})
	// Without the settings the hosts' keys are unknown: refused to connect.
	r = sw.world.run("status", "elixir")
	if !strings.Contains(r.stdout, "unreachable") {
		t.Errorf("status without the [ssh] settings reached the hosts:\n%s", r.stdout)
	}
}
