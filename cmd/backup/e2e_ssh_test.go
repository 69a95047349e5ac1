package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/transport/sshtest"
)

// sshWorld is the seed's table over real sshd hosts: uhane holds the
// source, mamane the mirror, both on loopback addresses of this machine.
// With mirrorLocal the tool runs "on the mirror host": the MIRROR is a local
// path and only the source is reached over SSH.
type sshWorld struct {
	*world
	srv *sshtest.Server
}

func newSSHWorld(t *testing.T, mirrorLocal bool, dirs ...string) *sshWorld {
	t.Helper()
	return newSSHWorldEnv(t, mirrorLocal, nil, dirs...)
}

// newSSHWorldEnv is newSSHWorld with env set in the hosts' sessions.
func newSSHWorldEnv(t *testing.T, mirrorLocal bool, env map[string]string, dirs ...string) *sshWorld {
	t.Helper()
	srv := sshtest.StartWith(t, sshtest.Options{Hosts: []string{"uhane", "mamane"}, Env: env})
	w := newWorld(t, dirs...)
	sw := &sshWorld{world: w, srv: srv}
	w.global = []string{"--ssh-config", srv.Config, "--known-hosts", srv.KnownHosts}
	mirror := "mamane:" + w.dst
	if mirrorLocal {
		mirror = w.dst
	}
	w.writeTableText("uhane:"+w.src, mirror)
	return sw
}

// writeTableText writes the table with endpoint texts as given.
func (w *world) writeTableText(src, dst string) {
	var b strings.Builder
	fmt.Fprintf(&b, " # /data/elixir\n TARGET  elixir\n         SOURCE  %s\n         MIRROR  %s\n", src, dst)
	for _, d := range w.dirs {
		fmt.Fprintf(&b, "         DIR     %s\n", d)
	}
	must(w.t, os.WriteFile(w.tab, []byte(b.String()), 0o644))
}

// TestSSHEveryCommand runs every command over SSH, from a third host (both
// endpoints remote) and from the mirror host (mirror local), with rsync as
// the oracle.
func TestSSHEveryCommand(t *testing.T) {
	for _, mode := range []struct {
		name        string
		mirrorLocal bool
	}{{"third-host", false}, {"on-mirror-host", true}} {
		t.Run(mode.name, func(t *testing.T) {
			sw := newSSHWorld(t, mode.mirrorLocal, "detrend", "tests")
			makeTree(t, sw.src)
			sw.mustRun(0, "-targets")
			sw.mustRun(0, "init", "elixir")
			r := sw.mustRun(0, "-status", "elixir")
			if !strings.Contains(r.stdout, "source copy:  role source, epoch 1") || !strings.Contains(r.stdout, "mirror copy:  role mirror, epoch 1") {
				t.Fatalf("status over SSH:\n%s", r.stdout)
			}
			before := snapshot(t, sw.dir) // both copies and the table
			sw.mustRun(0, "-backup", "elixir", "--dry-run")
			assertUnchanged(t, sw.dir, before)
			sw.mustRun(0, "-backup", "elixir")
			sw.assertSame()

			edited := filepath.Join(sw.src, "detrend/2026/nov/frame1.fits")
			writeFile(t, edited, "edited over ssh")
			// Edited a minute ago: a file changed within seconds of its copy
			// is "unsure" for check --mirror-only until the next run compared
			// it (see TestRacyCopyRechecked).
			past := time.Now().Add(-time.Minute)
			must(t, os.Chtimes(edited, past, past))
			must(t, os.Remove(filepath.Join(sw.src, "detrend/one.txt")))
			sw.mustRun(0, "backup", "elixir")
			sw.assertSame()
			sw.mustRun(0, "check", "elixir")
			sw.mustRun(0, "check", "elixir", "--mirror-only")

			// restore over SSH: the lost file comes back as the mirror holds
			// it (content, mode, time: the copies are the same again).
			lost := filepath.Join(sw.src, "tests/run.sh")
			lostSum := sumOf(t, lost)
			must(t, os.Remove(lost))
			sw.mustRun(0, "restore", "elixir")
			if got := sumOf(t, lost); got != lostSum {
				t.Fatalf("restore over SSH: %s holds other content", lost)
			}
			sw.assertSame()

			// swap over SSH: the last write on the source is carried over,
			// both markers flip at epoch 2, the table is rewritten, and the
			// next run goes the other way.
			writeFile(t, filepath.Join(sw.src, "detrend/last before swap.txt"), "carried over")
			srcEndpoint, dstEndpoint := "uhane:"+sw.src, "mamane:"+sw.dst
			if mode.mirrorLocal {
				dstEndpoint = sw.dst
			}
			sw.mustRun(0, "swap", "elixir")
			assertMarker(t, sw.src, mirror.RoleMirror, 2)
			assertMarker(t, sw.dst, mirror.RoleSource, 2)
			assertTableRoles(t, sw.tab, dstEndpoint, srcEndpoint)
			if got := sumOf(t, filepath.Join(sw.dst, "detrend/last before swap.txt")); got != sumOf(t, filepath.Join(sw.src, "detrend/last before swap.txt")) {
				t.Errorf("swap over SSH: the last write was not carried over")
			}
			r = sw.mustRun(0, "status", "elixir")
			assertWords(t, r.stdout, []string{"source copy:  role source, epoch 2", "mirror copy:  role mirror, epoch 2"})
			writeFile(t, filepath.Join(sw.dst, "detrend/on the new source.txt"), "after the swap")
			sw.mustRun(0, "backup", "elixir")
			if _, err := os.Stat(filepath.Join(sw.src, "detrend/on the new source.txt")); err != nil {
				t.Errorf("after the swap the run did not go the other way: %v", err)
			}
			sw.assertSame()
		})
	}
}

// assertTableRoles fails unless the table file tab names source as the
// SOURCE and mirrorRoot as the MIRROR.
func assertTableRoles(t *testing.T, tab, source, mirrorRoot string) {
	t.Helper()
	data, err := os.ReadFile(tab)
	must(t, err)
	got := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "SOURCE" || f[0] == "MIRROR") {
			got[f[0]] = f[1]
		}
	}
	if got["SOURCE"] != source || got["MIRROR"] != mirrorRoot {
		t.Errorf("table: SOURCE %q, MIRROR %q; want %q, %q:\n%s", got["SOURCE"], got["MIRROR"], source, mirrorRoot, data)
	}
}

// TestSSHWholeRoot: a target without DIRs mirrors the whole root over
// SFTP, the root's own mode and time included.
func TestSSHWholeRoot(t *testing.T) {
	sw := newSSHWorld(t, false)
	makeTree(t, sw.src)
	sw.mustRun(0, "init", "elixir")
	sw.mustRun(0, "backup", "elixir")
	sw.assertSame()
	writeFile(t, filepath.Join(sw.src, "top.txt"), "new at the top")
	sw.mustRun(0, "backup", "elixir")
	sw.assertSame()
}

// TestSSHDeltaTransfer: with the backup command on the hosts, a large file
// changed in place travels as its changed blocks, both from a third host
// and on the mirror host, and the mirror is exact.
func TestSSHDeltaTransfer(t *testing.T) {
	for _, mirrorLocal := range []bool{false, true} {
		env := map[string]string{"PATH": backupOnPath(t) + ":/usr/local/bin:/usr/bin:/bin"}
		sw := newSSHWorldEnv(t, mirrorLocal, env, "detrend")
		w := sw.world
		img := filepath.Join(w.src, "detrend/disk.img")
		data := make([]byte, 24<<20)
		for i := range data {
			data[i] = byte(i * 7 % 251)
		}
		must(t, os.MkdirAll(filepath.Dir(img), 0o755))
		must(t, os.WriteFile(img, data, 0o644))
		sw.mustRun(0, "init", "elixir")
		sw.mustRun(0, "backup", "elixir")
		copy(data[12<<20:], "changed in place")
		must(t, os.WriteFile(img, data, 0o644))
		// Same size: the change must show in the mtime, which SFTP keeps to
		// the second only, so not within the second of the first write.
		later := time.Now().Add(time.Minute)
		must(t, os.Chtimes(img, later, later))
		r := sw.mustRun(0, "-v", "backup", "elixir")
		if !strings.Contains(r.stdout, "1 files (1.0 MiB) copied") {
			t.Errorf("mirror local %v: not a delta of one block:\n%s", mirrorLocal, r.stdout)
		}
		sw.assertSame()
	}
}
