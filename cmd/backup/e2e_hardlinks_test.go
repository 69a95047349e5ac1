package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHardLinks: hard-link groups of the source arrive as groups on the
// mirror — made, then broken, extended and moved between runs — with rsync
// -H as the oracle, and a restore brings them back as links; locally and
// over SSH (find's link counts, SFTP's hardlink@openssh.com), from a third
// host and from the mirror host.
func TestHardLinks(t *testing.T) {
	for _, mode := range []struct {
		name string
		ssh  bool
		// mirrorLocal: the tool runs on the mirror host (the seed's cron).
		mirrorLocal bool
	}{{"local", false, false}, {"ssh-third-host", true, false}, {"ssh-on-mirror-host", true, true}} {
		t.Run(mode.name, func(t *testing.T) {
			var w *world
			if mode.ssh {
				w = newSSHWorld(t, mode.mirrorLocal, "detrend", "tests").world
			} else {
				w = newWorld(t, "detrend", "tests")
			}
			checkHardLinks(t, w)
		})
	}
}

func checkHardLinks(t *testing.T, w *world) {
	src := func(p string) string { return filepath.Join(w.src, p) }
	dst := func(p string) string { return filepath.Join(w.dst, p) }
	for _, d := range []string{"detrend/a", "detrend/b", "tests"} {
		must(t, os.MkdirAll(src(d), 0o755))
	}
	writeFile(t, src("detrend/a/spool"), "mail 1\n")
	must(t, os.Link(src("detrend/a/spool"), src("detrend/b/spool")))
	must(t, os.Link(src("detrend/a/spool"), src("tests/spool"))) // across DIRs
	writeFile(t, src("detrend/a/one"), "one\n")
	must(t, os.Link(src("detrend/a/one"), src("detrend/a/two")))

	w.mustRun(0, "init", "elixir")
	r := w.mustRun(0, "backup", "elixir", "-n")
	if !strings.Contains(r.stdout, "hf+++++++++ detrend/b/spool => detrend/a/spool") {
		t.Errorf("the dry run does not show the link rsync-style:\n%s", r.stdout)
	}
	w.mustRun(0, "backup", "elixir")
	assertLinkedLike(t, w)
	sameInode(t, true, dst("detrend/a/spool"), dst("detrend/b/spool"), dst("tests/spool"))
	sameInode(t, true, dst("detrend/a/one"), dst("detrend/a/two"))
	w.mustRun(0, "check", "elixir")

	// Broken on the source (two becomes a file of its own), extended
	// (three joins one), and the group's first member replaced.
	must(t, os.Remove(src("detrend/a/two")))
	writeFile(t, src("detrend/a/two"), "two now\n")
	must(t, os.Link(src("detrend/a/one"), src("detrend/b/three")))
	must(t, os.Remove(src("detrend/a/spool")))
	writeFile(t, src("detrend/a/spool"), "mail 2\n")
	must(t, os.Link(src("detrend/a/spool"), src("tests/spool2")))
	w.mustRun(0, "backup", "elixir")
	assertLinkedLike(t, w)
	sameInode(t, false, dst("detrend/a/one"), dst("detrend/a/two"))
	sameInode(t, true, dst("detrend/a/one"), dst("detrend/b/three"))
	sameInode(t, true, dst("detrend/a/spool"), dst("tests/spool2"))
	sameInode(t, true, dst("detrend/b/spool"), dst("tests/spool"))
	if r := w.mustRun(0, "backup", "elixir", "-n"); strings.Contains(r.stdout, "hf") {
		t.Errorf("links made again on a run with no change:\n%s", r.stdout)
	}
	// The replaced mirror file went to the trash, not away.
	if countInTrash(t, w.dst, "spool") == 0 {
		t.Errorf("the replaced spool is not in the trash")
	}

	// Restore: a source that lost its files gets the groups back.
	for _, p := range []string{"detrend/b/three", "detrend/a/one"} {
		must(t, os.Remove(src(p)))
	}
	w.mustRun(0, "restore", "elixir")
	sameInode(t, true, src("detrend/a/one"), src("detrend/b/three"))
	assertLinkedLike(t, w)
}

// assertLinkedLike asks rsync -H, with content compared, whether the copies
// are identical in the DIRs, hard links included.
func assertLinkedLike(t *testing.T, w *world) {
	t.Helper()
	rsync := needRsync(t)
	// The DIRs of one target together, as one tree: groups span DIRs.
	args := []string{"-aH", "-c", "-n", "-i", "--delete", "--exclude=/.backup-*"}
	out, err := exec.Command(rsync, append(args, w.src+"/", w.dst+"/")...).CombinedOutput()
	if err != nil {
		t.Fatalf("rsync: %v\n%s", err, out)
	}
	var diffs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.HasPrefix(l, ".d..t") { // root-level directory times
			diffs = append(diffs, l)
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("rsync -H sees differences:\n%s", strings.Join(diffs, "\n"))
	}
}

// sameInode asserts that the files are (want) or are not one file.
func sameInode(t *testing.T, want bool, paths ...string) {
	t.Helper()
	var first uint64
	for i, p := range paths {
		fi, err := os.Lstat(p)
		must(t, err)
		ino := fi.Sys().(*syscall.Stat_t).Ino
		if i == 0 {
			first = ino
			continue
		}
		if (ino == first) != want {
			t.Errorf("%s and %s: same file = %v, want %v", paths[0], p, ino == first, want)
		}
	}
}
