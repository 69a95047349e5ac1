package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/transport"
)

// fenceCase is one situation in which every command that writes must
// refuse, before its first write.
type fenceCase struct {
	name      string
	wholeRoot bool // the table has no DIR: the whole root is in scope
	setup     func(t *testing.T, w *world)
	args      []string // flags added to "backup elixir"
	// words must all appear in the refusal: what was found and what to do.
	words []string
	// checkCode is what 'check' exits with: it compares anyway and says a
	// backup would be refused (1; 4 when a source DIR is missing), or it
	// cannot open a copy (3).
	checkCode int
	// checkWords, when set, replace words for check, which knows nothing
	// of the backup's flags.
	checkWords []string
}

// DESIGN §3's rules table, row by row, and the situations issue 3 names.
var fenceCases = []fenceCase{
	{name: "source-unmounted", setup: emptySource,
		words: []string{"SOURCE", "is empty and has no identity marker", "not mounted?", "what to do", "is mounted", "backup restore elixir"}, checkCode: 4},
	{name: "source-unmounted-whole-root", wholeRoot: true, setup: emptySource,
		words: []string{"is empty and has no identity marker", "not mounted?", "backup restore elixir"}, checkCode: 1},
	{name: "source-missing", setup: func(t *testing.T, w *world) { must(t, os.Rename(w.src, w.src+".away")) },
		words: []string{"SOURCE", "does not exist", "not mounted?", "what to do", "mount it", "backup status elixir"}, checkCode: 3},
	{name: "source-unmarked", setup: func(t *testing.T, w *world) { must(t, os.Remove(filepath.Join(w.src, mirror.MarkerFile))) },
		words: []string{"has files but no identity marker", "wrong disk", "backup init elixir"}, checkCode: 1},
	{name: "marker-on-replacement-disk", setup: markerOnBlankDisk,
		words: []string{"no files in scope", "unmounted or lost", "nothing will be deleted", "check that the source is mounted"}, checkCode: 4},
	{name: "marker-on-replacement-disk-whole-root", wholeRoot: true, setup: markerOnBlankDisk,
		words: []string{"no files in scope", "unmounted or lost", "nothing will be deleted"}, checkCode: 1},
	{name: "source-empty-in-scope", setup: func(t *testing.T, w *world) {
		for _, d := range []string{"detrend", "tests"} {
			must(t, os.RemoveAll(filepath.Join(w.src, d)))
			must(t, os.Mkdir(filepath.Join(w.src, d), 0o755))
		}
	}, words: []string{"no files in scope", "while MIRROR", "nothing will be deleted", "remove the files by hand"}, checkCode: 1},
	{name: "pair-mismatch", setup: func(t *testing.T, w *world) {
		editMarker(t, w.dst, func(m *mirror.Marker) { m.Pair = "00000000deadbeef" })
	}, words: []string{"different pairs", "00000000deadbeef", "check the table's paths"}, checkCode: 1},
	{name: "wrong-target", setup: func(t *testing.T, w *world) {
		editMarker(t, w.dst, func(m *mirror.Marker) { m.Target = "other" })
	}, words: []string{"stamped for targets", `"other"`, "check the table's SOURCE and MIRROR paths"}, checkCode: 1},
	{name: "same-copy", setup: func(t *testing.T, w *world) {
		link := filepath.Join(w.dir, "via-link")
		must(t, os.Symlink(w.src, link))
		w.writeTable(w.src, link)
	}, words: []string{"reach the same copy", "two different copies", "symlinks"}, checkCode: 1},
	{name: "table-swapped", setup: func(t *testing.T, w *world) { w.writeTable(w.dst, w.src) },
		words: []string{"marker says it is the mirror", "swapped by hand", "put the table back", "backup swap elixir", "backup promote elixir"}, checkCode: 1},
	{name: "stale-former-source-as-mirror", setup: promoteWhileAway(true),
		words: []string{"MIRROR", "is a stale former source (epoch 1", "epoch 2", "backup check elixir", "--discard-stale"}, checkCode: 1},
	{name: "stale-former-source-as-source", setup: promoteWhileAway(false), args: []string{"--discard-stale"},
		words: []string{"SOURCE", "is a stale former source (epoch 1)", "nothing can override this", "fix the table", "backup promote elixir"}, checkCode: 1},
	{name: "split-brain", setup: func(t *testing.T, w *world) {
		editMarker(t, w.dst, func(m *mirror.Marker) { m.Role, m.Synced = mirror.RoleSource, nil })
	}, words: []string{"split brain", "both", "claim to be the source at epoch 1", "merge by hand", "init elixir --adopt"}, checkCode: 1},
	{name: "both-mirrors", setup: func(t *testing.T, w *world) {
		editMarker(t, w.src, func(m *mirror.Marker) { m.Role = mirror.RoleMirror })
	}, words: []string{"neither", "is marked as source", "interrupted swap", "promote elixir --write-table"}, checkCode: 1},
	{name: "mirror-epoch-ahead", setup: func(t *testing.T, w *world) {
		editMarker(t, w.dst, func(m *mirror.Marker) { m.Epoch = 7 })
	}, words: []string{"has epoch 7, ahead of SOURCE", "epoch 1", "backup check elixir", "backup status elixir"}, checkCode: 1},
	{name: "mirror-unmarked", setup: func(t *testing.T, w *world) { must(t, os.Remove(filepath.Join(w.dst, mirror.MarkerFile))) },
		words: []string{"MIRROR", "has no identity marker", "backup init elixir"}, checkCode: 1},
	{name: "mirror-changed-added", setup: func(t *testing.T, w *world) {
		writeFile(t, filepath.Join(w.dst, "detrend/user wrote this.txt"), "new on the mirror")
	}, words: []string{"changed outside the tool", "(1 paths)", "added: detrend/user wrote this.txt", "--overwrite-mirror-changes", "promote"}, checkCode: 1},
	{name: "mirror-changed-edited", setup: func(t *testing.T, w *world) {
		p := filepath.Join(w.dst, "detrend/2026/nov/frame1.fits")
		must(t, os.WriteFile(p, []byte("edited on the mirror"), 0o644))
		must(t, os.Chtimes(p, time.Now(), time.Now()))
	}, words: []string{"changed outside the tool", "changed: detrend/2026/nov/frame1.fits", "--overwrite-mirror-changes"}, checkCode: 1},
	{name: "mirror-changed-removed", setup: func(t *testing.T, w *world) {
		must(t, os.Remove(filepath.Join(w.dst, "tests/run.sh")))
	}, words: []string{"changed outside the tool", "removed: tests/run.sh", "--overwrite-mirror-changes"}, checkCode: 1},
	{name: "mirror-changed-chmod", setup: func(t *testing.T, w *world) {
		must(t, os.Chmod(filepath.Join(w.dst, "detrend/empty.dat"), 0o600))
	}, words: []string{"changed outside the tool", "changed: detrend/empty.dat", "--overwrite-mirror-changes"}, checkCode: 1},
	{name: "max-delete-count", setup: removeOnSource(3), args: []string{"--max-delete", "2"},
		words: []string{"would delete 3 of the", "more than --max-delete 2 allows (2)", "raise --max-delete"}, checkCode: 1,
		checkWords: []string{"extra:   detrend/one.txt", "extra:   tests/run.sh", "3 differences"}},
	{name: "max-delete-percent", setup: removeOnSource(3), args: []string{"--max-delete", "10%"},
		words: []string{"would delete 3 of the", "more than --max-delete 10% allows (1)", "raise --max-delete"}, checkCode: 1,
		checkWords: []string{"extra:   detrend/empty.dat", "3 differences"}},
	{name: "max-delete-default", setup: func(t *testing.T, w *world) {
		must(t, os.RemoveAll(filepath.Join(w.src, "detrend")))
		must(t, os.Mkdir(filepath.Join(w.src, "detrend"), 0o755))
	}, words: []string{"would delete", "more than --max-delete 50%", "raise --max-delete"}, checkCode: 1},
}

// TestFenceRefusals: in each situation a backup exits 3 with a message
// that says what was found and what to do, and so do its dry run and swap; check
// reports the refusal too; and none of them writes anything at all, on
// either copy, the tool's own files, the table and a lock included.
func TestFenceRefusals(t *testing.T) {
	needRsync(t)
	for _, c := range fenceCases {
		t.Run(c.name, func(t *testing.T) {
			w := syncedWorld(t, c.wholeRoot)
			c.setup(t, w)
			before := snapshot(t, w.dir)
			for _, run := range fenceRuns(c.args) {
				r := w.mustRun(3, run...)
				assertWords(t, r.stderr, append([]string{"refused:"}, c.words...))
				assertUnchanged(t, w.dir, before)
			}
			r := w.mustRun(c.checkCode, "check", "elixir")
			if c.checkWords != nil {
				assertWords(t, r.stdout, c.checkWords)
			} else {
				assertWords(t, r.stderr, c.words)
			}
			assertUnchanged(t, w.dir, before)
		})
	}
}

// fenceRuns are the commands that write and must refuse: backup and swap
// (a final backup first), for real and as dry runs.
func fenceRuns(args []string) [][]string {
	var runs [][]string
	for _, verb := range []string{"backup", "swap"} {
		if verb == "swap" && slices.Contains(args, "--discard-stale") {
			continue // a backup flag only
		}
		run := append([]string{verb, "elixir"}, args...)
		runs = append(runs, run, append(slices.Clone(run), "--dry-run"))
	}
	return runs
}

// syncedWorld is a target with DIRs detrend and tests (or the whole root),
// initialised and backed up once.
func syncedWorld(t *testing.T, wholeRoot bool) *world {
	t.Helper()
	var w *world
	if wholeRoot {
		w = newWorld(t)
	} else {
		w = newWorld(t, "detrend", "tests")
	}
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	return w
}

func assertWords(t *testing.T, text string, words []string) {
	t.Helper()
	for _, word := range words {
		if !strings.Contains(text, word) {
			t.Errorf("message lacks %q:\n%s", word, text)
		}
	}
}

// emptySource: the source's disk is not mounted, its mount point is empty.
func emptySource(t *testing.T, w *world) {
	must(t, os.RemoveAll(w.src))
	must(t, os.Mkdir(w.src, 0o755))
}

// markerOnBlankDisk: the source's marker copied by hand onto an empty
// replacement disk.
func markerOnBlankDisk(t *testing.T, w *world) {
	marker, err := os.ReadFile(filepath.Join(w.src, mirror.MarkerFile))
	must(t, err)
	emptySource(t, w)
	must(t, os.WriteFile(filepath.Join(w.src, mirror.MarkerFile), marker, 0o644))
}

// promoteWhileAway: the source goes away, the mirror is promoted, the old
// source comes back with a write the mirror never saw. With swapTable the
// table is rewritten (the stale copy stands as MIRROR), else it is not.
func promoteWhileAway(swapTable bool) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		writeFile(t, filepath.Join(w.src, "detrend/written before the crash.txt"), "only on the old source")
		must(t, os.Rename(w.src, w.src+".away"))
		if swapTable {
			w.mustRun(0, "promote", "elixir", "--write-table")
		} else {
			w.mustRun(0, "promote", "elixir")
		}
		must(t, os.Rename(w.src+".away", w.src))
	}
}

// removeOnSource deletes n files in scope on the source.
func removeOnSource(n int) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		for _, p := range []string{"detrend/one.txt", "detrend/empty.dat", "tests/run.sh", "detrend/-leading-dash"}[:n] {
			must(t, os.Remove(filepath.Join(w.src, p)))
		}
	}
}

// editMarker rewrites the marker of the copy at root, as a hand edit would.
func editMarker(t *testing.T, root string, edit func(m *mirror.Marker)) {
	t.Helper()
	fsys, err := transport.OpenLocal(root)
	must(t, err)
	defer fsys.Close()
	m, err := mirror.ReadMarker(fsys)
	must(t, err)
	edit(m)
	must(t, mirror.WriteMarker(fsys, m))
}

func readMarker(t *testing.T, root string) *mirror.Marker {
	t.Helper()
	fsys, err := transport.OpenLocal(root)
	must(t, err)
	defer fsys.Close()
	m, err := mirror.ReadMarker(fsys)
	must(t, err)
	return m
}

// TestOverwriteMirrorChanges: with --overwrite-mirror-changes the files
// users changed on the mirror go to the trash, with what they held, and
// the mirror becomes a copy of the source again.
func TestOverwriteMirrorChanges(t *testing.T) {
	w := syncedWorld(t, false)
	added := filepath.Join(w.dst, "detrend/user wrote this.txt")
	writeFile(t, added, "new on the mirror")
	edited := filepath.Join(w.dst, "detrend/2026/nov/frame1.fits")
	must(t, os.WriteFile(edited, []byte("edited on the mirror"), 0o644))
	must(t, os.Remove(filepath.Join(w.dst, "tests/run.sh")))
	must(t, os.Chmod(filepath.Join(w.dst, "detrend/empty.dat"), 0o600))

	w.mustRun(3, "backup", "elixir")
	w.mustRun(0, "backup", "elixir", "--overwrite-mirror-changes", "--no-trash")
	w.assertSame()
	for p, want := range map[string]string{"detrend/user wrote this.txt": "new on the mirror", "detrend/2026/nov/frame1.fits": "edited on the mirror"} {
		assertInTrash(t, w.dst, p, want)
	}
	w.mustRun(0, "backup", "elixir") // the manifest records the repaired mirror
}

// assertInTrash fails unless some run's trash on the copy at root holds p
// with content want.
func assertInTrash(t *testing.T, root, p, want string) {
	t.Helper()
	found, _ := filepath.Glob(filepath.Join(root, mirror.TrashDir, "*", p))
	again, _ := filepath.Glob(filepath.Join(root, mirror.TrashDir, "*", p+".[0-9]*")) // trashed twice in one run's second
	found = append(found, again...)
	for _, f := range found {
		if b, err := os.ReadFile(f); err == nil && string(b) == want {
			return
		}
	}
	t.Errorf("the trash of %s lacks %s with %q (found %q)", root, p, want, found)
}

// writeLock writes a lock as a run of pid on host would have.
func writeLock(t *testing.T, w *world, host string, pid int) {
	t.Helper()
	started := time.Now().UTC().Format(time.RFC3339)
	lock := fmt.Sprintf("host = %q\npid = %d\nstarted = %s\ncommand = \"backup elixir\"\n", host, pid, started)
	must(t, os.WriteFile(filepath.Join(w.dst, mirror.LockFile), []byte(lock), 0o644))
}

// startSleeper starts a process that lives until the test ends.
func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	must(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestLockHeld: a lock held by a live process of this host refuses every
// run, naming the holder; dry runs, check and status say so; nothing is
// written.
func TestLockHeld(t *testing.T) {
	w := syncedWorld(t, false)
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	host, _ := os.Hostname()
	holder := startSleeper(t)
	writeLock(t, w, host, holder.Process.Pid)
	before := snapshot(t, w.dir)
	pid := strconv.Itoa(holder.Process.Pid)
	for _, args := range [][]string{{"backup", "elixir"}, {"swap", "elixir"}, {"restore", "elixir"}} {
		r := w.mustRun(3, args...)
		assertWords(t, r.stderr, []string{"refused:", "another run holds the lock", host + " pid " + pid, "(backup elixir)", "what to do", "wait for that run to end"})
		assertUnchanged(t, w.dir, before)
	}
	for _, args := range [][]string{{"backup", "elixir", "--dry-run"}, {"swap", "elixir", "--dry-run"}, {"restore", "elixir", "--dry-run"}, {"check", "elixir"}} {
		r := w.mustRun(1, args...)
		assertWords(t, r.stderr, []string{"warning:", "another run holds the lock", "pid " + pid, "a real run would be refused"})
		assertUnchanged(t, w.dir, before)
	}
	r := w.mustRun(0, "status", "elixir")
	assertWords(t, r.stdout, []string{"lock:         held by " + host + " pid " + pid})
	assertUnchanged(t, w.dir, before)
}

// TestLockStaleAfterKill: the holder of the lock was killed (kill -9, so
// it could not remove it); the next run takes the lock over, says so on
// stderr, completes, and leaves no lock behind.
func TestLockStaleAfterKill(t *testing.T) {
	w := syncedWorld(t, false)
	writeFile(t, filepath.Join(w.src, "detrend/after the crash.txt"), "new")
	holder := exec.Command("sleep", "60")
	must(t, holder.Start())
	host, _ := os.Hostname()
	writeLock(t, w, host, holder.Process.Pid)
	must(t, holder.Process.Signal(os.Kill))
	if err := holder.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("holder not killed: %v", err)
	}
	r := w.mustRun(1, "backup", "elixir")
	assertWords(t, r.stderr, []string{"warning:", "took over the stale lock", "pid " + strconv.Itoa(holder.Process.Pid)})
	w.assertSame()
	if _, err := os.Lstat(filepath.Join(w.dst, mirror.LockFile)); !os.IsNotExist(err) {
		t.Fatalf("lock left behind: %v", err)
	}
	w.mustRun(0, "backup", "elixir")
}

// TestRoleCommandRefusals: the role commands refuse what would lose data
// or hide a mistake, say what to do instead, and write nothing.
func TestRoleCommandRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		synced bool
		setup  func(t *testing.T, w *world)
		args   []string
		words  []string
	}{
		{"promote-while-the-source-answers", true, nil, []string{"promote", "elixir", "--write-table"},
			[]string{"answers and holds its marker", "backup swap elixir", "promote elixir --force"}},
		{"init-twice", true, nil, []string{"init", "elixir"}, []string{"already marked", "backup status elixir"}},
		{"init-over-a-full-mirror", false, func(t *testing.T, w *world) {
			writeFile(t, filepath.Join(w.dst, "detrend/old copy.txt"), "made by another tool")
		}, []string{"init", "elixir"}, []string{"is not empty", "backup check elixir", "init elixir --adopt"}},
		{"restore-into-unmarked-files", true, func(t *testing.T, w *world) {
			must(t, os.Remove(filepath.Join(w.src, mirror.MarkerFile)))
		}, []string{"restore", "elixir"}, []string{"has files but no identity marker", "empty new disk"}},
		{"restore-from-an-unmarked-mirror", true, func(t *testing.T, w *world) {
			must(t, os.Remove(filepath.Join(w.dst, mirror.MarkerFile)))
		}, []string{"restore", "elixir"}, []string{"no identity marker", "nothing to restore from"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w *world
			if c.synced {
				w = syncedWorld(t, false)
			} else {
				w = newWorld(t, "detrend", "tests")
				makeTree(t, w.src)
			}
			if c.setup != nil {
				c.setup(t, w)
			}
			before := snapshot(t, w.dir)
			for _, args := range [][]string{c.args, append(slices.Clone(c.args), "--dry-run")} {
				r := w.mustRun(3, args...)
				assertWords(t, r.stderr, append([]string{"refused:", "what to do"}, c.words...))
				assertUnchanged(t, w.dir, before)
			}
		})
	}
}
