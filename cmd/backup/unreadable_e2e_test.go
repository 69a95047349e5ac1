package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// TestUnreadableRemoteDirAsRoot: on a remote source a directory find
// cannot read (mode 0, and find runs without CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH, so root is denied by the kernel like anyone) does
// not hide the rest of the DIR: see checkUnreadableRemoteDir.
func TestUnreadableRemoteDirAsRoot(t *testing.T) {
	testenv.NeedRoot(t)
	setpriv := testenv.LookPath(t, "setpriv", "setpriv (util-linux), to run find without root's capabilities")
	realFind := testenv.LookPath(t, "find", "GNU find")
	bin := t.TempDir()
	script := "#!/bin/sh\nexec " + setpriv + " --bounding-set -dac_override,-dac_read_search --inh-caps -dac_override,-dac_read_search " + realFind + ` "$@"` + "\n"
	must(t, os.WriteFile(filepath.Join(bin, "find"), []byte(script), 0o755))
	checkUnreadableRemoteDir(t, bin+":/usr/local/bin:/usr/bin:/bin")
}

// TestPermUnreadableRemoteDir is TestUnreadableRemoteDirAsRoot with real
// permissions, in the unprivileged pass: the test hosts' sshd logs in the
// same user.
func TestPermUnreadableRemoteDir(t *testing.T) {
	testenv.Unprivileged(t)
	checkUnreadableRemoteDir(t, "")
}

// checkUnreadableRemoteDir: a source over SSH (mirror local, the seed's
// cron set-up) with one DIR, a subdirectory of which becomes unreadable
// while a file is added and another removed. The run copies every
// readable change, names the unreadable directory, exits 4 and deletes
// nothing; once the DIR holds nothing readable at all the run is still not
// refused as "source looks unmounted" (exit 4, nothing deleted); readable
// again, the next run makes the copies identical. path, when set, is the
// PATH of the hosts' sessions.
func checkUnreadableRemoteDir(t *testing.T, path string) {
	var env map[string]string
	if path != "" {
		env = map[string]string{"PATH": path}
	}
	sw := newSSHWorldEnv(t, true, env, "detrend")
	w := sw.world
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")

	locked := filepath.Join(w.src, "detrend/2026")
	writeFile(t, filepath.Join(w.src, "detrend/fresh.txt"), "readable and new")
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt"))) // a deletion is due
	must(t, os.Chmod(locked, 0))
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755); _ = os.Chmod(filepath.Join(w.dst, "detrend/2026"), 0o755) })
	before := snapshot(t, filepath.Join(w.dst, "detrend/2026"))

	r := w.mustRun(4, "backup", "elixir")
	if !strings.Contains(r.stderr, "detrend/2026: permission denied") {
		t.Errorf("stderr does not name the unreadable directory:\n%s", r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(w.dst, "detrend/fresh.txt")); err != nil || string(b) != "readable and new" {
		t.Errorf("a readable new file was not copied: %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(w.dst, "detrend/one.txt")); err != nil {
		t.Errorf("a file was deleted from the mirror although the source was not read completely: %v", err)
	}
	// The mirror's copy of what could not be read is left as it was, its
	// mode too: mode 0 there would lock the tool out of it next run.
	assertUnchanged(t, filepath.Join(w.dst, "detrend/2026"), before)
	if fi, err := os.Lstat(filepath.Join(w.dst, "detrend/2026")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the mirror's copy of an unreadable directory changed: %v %v", fi.Mode(), err)
	}

	// Nothing readable left in the one DIR: unread, not empty.
	entries, err := os.ReadDir(filepath.Join(w.src, "detrend"))
	must(t, err)
	for _, e := range entries {
		if e.Name() != "2026" {
			must(t, os.RemoveAll(filepath.Join(w.src, "detrend", e.Name())))
		}
	}
	dstBefore := snapshot(t, w.dst)
	r = w.mustRun(4, "backup", "elixir")
	if strings.Contains(r.stderr, "unmounted") || !strings.Contains(r.stderr, "detrend/2026: permission denied") {
		t.Errorf("an unreadable DIR was taken for an unmounted source, or not named:\n%s", r.stderr)
	}
	for p := range dstBefore {
		if _, err := os.Lstat(filepath.Join(w.dst, p)); err != nil && !strings.HasPrefix(p, ".backup-") {
			t.Errorf("%s deleted from the mirror after a source read error: %v", p, err)
		}
	}

	must(t, os.Chmod(locked, 0o755))
	w.mustRun(0, "backup", "elixir", "--max-delete", "100%") // the files removed above go now
	w.assertSame()
}

// TestPermUnreadableDirSourceNotEmpty: locally too, a DIR whose only
// content cannot be read is unread, not an empty source: the run fails
// (exit 4) naming it, and deletes nothing; it is not refused as unmounted.
func TestPermUnreadableDirSourceNotEmpty(t *testing.T) {
	testenv.Unprivileged(t)
	w := newWorld(t, "detrend")
	writeFile(t, filepath.Join(w.src, "detrend/locked/secret.txt"), "secret")
	writeFile(t, filepath.Join(w.src, "detrend/gone.txt"), "to be deleted")
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	must(t, os.Remove(filepath.Join(w.src, "detrend/gone.txt")))
	locked := filepath.Join(w.src, "detrend/locked")
	must(t, os.Chmod(locked, 0))
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755); _ = os.Chmod(filepath.Join(w.dst, "detrend/locked"), 0o755) })
	r := w.mustRun(4, "backup", "elixir")
	if strings.Contains(r.stderr, "unmounted") || !strings.Contains(r.stderr, "detrend/locked") {
		t.Errorf("an unreadable DIR was taken for an unmounted source, or not named:\n%s", r.stderr)
	}
	for _, p := range []string{"detrend/gone.txt", "detrend/locked/secret.txt"} {
		if _, err := os.Lstat(filepath.Join(w.dst, p)); err != nil {
			t.Errorf("%s deleted from the mirror after a source read error: %v", p, err)
		}
	}
	// The mirror's copy kept its mode, so the next run, the source
	// readable again, gets in and completes the copy.
	must(t, os.Chmod(locked, 0o755))
	w.mustRun(0, "backup", "elixir", "--max-delete", "100%")
	w.assertSame()
}
