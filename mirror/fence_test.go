package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
	"github.com/mirrorfence/mirrorfence/transport"
)

// marker returns a marker of target elixir, pair P.
func marker(copyID, role string, epoch int64) *Marker {
	return &Marker{Target: "elixir", Pair: "P", Copy: copyID, Role: role, Epoch: epoch}
}

func copyState(name string, m *Marker, empty bool) CopyState {
	return CopyState{Name: name, Marker: m, Empty: empty}
}

// wantVerdict checks a fence's answer: no error when rule is "", else a
// *Refusal with that rule, wrapping ErrRefused, that says what was found
// and what to do.
func wantVerdict(t *testing.T, err error, rule string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, ErrRefused) {
		t.Fatalf("want refusal %q, got %v", rule, err)
	}
	if r.Rule != rule || r.Found == "" || r.Remedy == "" || !strings.Contains(r.Error(), "what to do: ") {
		t.Fatalf("want rule %q with found and remedy, got %q: %v", rule, r.Rule, err)
	}
}

func TestFenceBackup(t *testing.T) {
	src := func(m *Marker) CopyState { return copyState("uhane:/a", m, false) }
	dst := func(m *Marker) CopyState { return copyState("mamane:/b", m, false) }
	other := *marker("d", RoleMirror, 1)
	other.Pair = "Q"
	foreign := *marker("d", RoleMirror, 1)
	foreign.Target = "other"
	for _, c := range []struct {
		name         string
		src, dst     CopyState
		discardStale bool
		rule         string
		verdict      Verdict
	}{
		{"in order", src(marker("s", RoleSource, 1)), dst(marker("d", RoleMirror, 1)), false, "", Verdict{}},
		{"after a promote and discard", src(marker("s", RoleSource, 3)), dst(marker("d", RoleMirror, 3)), true, "", Verdict{}},
		{"mirror behind", src(marker("s", RoleSource, 2)), dst(marker("d", RoleMirror, 1)), false, "", Verdict{}},
		{"source unmounted", copyState("uhane:/a", nil, true), dst(marker("d", RoleMirror, 1)), false, "source-unmounted", Verdict{}},
		{"source unmarked", src(nil), dst(marker("d", RoleMirror, 1)), false, "source-unmarked", Verdict{}},
		{"mirror unmarked", src(marker("s", RoleSource, 1)), dst(nil), false, "mirror-unmarked", Verdict{}},
		{"mirror unmarked and empty", src(marker("s", RoleSource, 1)), copyState("mamane:/b", nil, true), false, "mirror-unmarked", Verdict{}},
		{"other target", src(marker("s", RoleSource, 1)), dst(&foreign), false, "wrong-target", Verdict{}},
		{"both of another target", src(&foreign), dst(&foreign), false, "wrong-target", Verdict{}},
		{"other pair", src(marker("s", RoleSource, 1)), dst(&other), false, "pair-mismatch", Verdict{}},
		{"same copy", src(marker("s", RoleSource, 1)), dst(marker("s", RoleSource, 1)), true, "same-copy", Verdict{}},
		{"table swapped", src(marker("s", RoleMirror, 1)), dst(marker("d", RoleSource, 1)), true, "table-swapped", Verdict{}},
		{"no source (cut swap)", src(marker("s", RoleMirror, 2)), dst(marker("d", RoleMirror, 2)), true, "no-source", Verdict{}},
		{"split brain", src(marker("s", RoleSource, 2)), dst(marker("d", RoleSource, 2)), true, "split-brain", Verdict{}},
		{"stale source", src(marker("s", RoleSource, 1)), dst(marker("d", RoleSource, 2)), false, "stale-source", Verdict{}},
		{"stale source, discard asked", src(marker("s", RoleSource, 1)), dst(marker("d", RoleSource, 2)), true, "stale-source", Verdict{}},
		{"stale mirror", src(marker("s", RoleSource, 2)), dst(marker("d", RoleSource, 1)), false, "stale-mirror", Verdict{}},
		{"stale mirror discarded", src(marker("s", RoleSource, 2)), dst(marker("d", RoleSource, 1)), true, "", Verdict{DiscardStale: true}},
		{"mirror ahead", src(marker("s", RoleSource, 1)), dst(marker("d", RoleMirror, 2)), true, "mirror-ahead", Verdict{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := FenceBackup("elixir", c.src, c.dst, c.discardStale)
			wantVerdict(t, err, c.rule)
			if v != c.verdict {
				t.Fatalf("verdict %+v, want %+v", v, c.verdict)
			}
		})
	}
}

func TestFenceRestore(t *testing.T) {
	mir := func(m *Marker) CopyState { return copyState("mamane:/b", m, false) }
	other := *marker("s", RoleSource, 1)
	other.Pair = "Q"
	for _, c := range []struct {
		name           string
		mirror, source CopyState
		rule           string
	}{
		{"in order", mir(marker("d", RoleMirror, 1)), copyState("uhane:/a", marker("s", RoleSource, 1), false), ""},
		{"replacement disk", mir(marker("d", RoleMirror, 1)), copyState("uhane:/a", nil, true), ""},
		{"mirror unmarked", mir(nil), copyState("uhane:/a", nil, true), "mirror-unmarked"},
		{"source with files, unmarked", mir(marker("d", RoleMirror, 1)), copyState("uhane:/a", nil, false), "source-unmarked"},
		{"other pair", mir(marker("d", RoleMirror, 1)), copyState("uhane:/a", &other, false), "pair-mismatch"},
		{"same copy", mir(marker("s", RoleSource, 1)), copyState("uhane:/a", marker("s", RoleSource, 1), false), "same-copy"},
		{"roles the wrong way", mir(marker("d", RoleSource, 2)), copyState("uhane:/a", marker("s", RoleMirror, 2), false), "roles"},
		{"stale source", mir(marker("d", RoleSource, 2)), copyState("uhane:/a", marker("s", RoleSource, 1), false), "roles"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := FenceRestore("elixir", c.mirror, c.source)
			wantVerdict(t, err, c.rule)
			if v != (Verdict{}) {
				t.Fatalf("verdict %+v", v)
			}
		})
	}
}

func TestMaxDeleteLimit(t *testing.T) {
	for _, c := range []struct {
		m     MaxDelete
		total int
		want  int
		str   string
	}{
		{MaxDelete{}, 10, 5, "50%"},
		{MaxDelete{}, 19, 9, "50%"},
		{MaxDelete{}, 1, 0, "50%"},
		{MaxDelete{}, 0, 0, "50%"},
		{MaxDelete{Count: 3}, 1000, 3, "3"},
		{MaxDelete{Count: 3}, 1, 3, "3"},
		{MaxDelete{Count: -1}, 1000, 0, "0"},
		{MaxDelete{Percent: 10}, 19, 1, "10%"},
		{MaxDelete{Percent: 100}, 7, 7, "100%"},
		{MaxDelete{Percent: 12.5}, 8, 1, "12.5%"},
		{MaxDelete{Percent: 33.3}, 3, 0, "33.3%"},
	} {
		if got := c.m.Limit(c.total); got != c.want || c.m.String() != c.str {
			t.Errorf("%+v.Limit(%d) = %d (%s), want %d (%s)", c.m, c.total, got, c.m, c.want, c.str)
		}
	}
}

func entry(p string, mode fs.FileMode, size int64, mtime time.Time) Entry {
	return Entry{Path: p, FileInfo: transport.FileInfo{Mode: mode, Size: size, ModTime: mtime}}
}

func TestManifestChanged(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	base := []Entry{
		entry("d", fs.ModeDir|0o755, 4096, t0),
		entry("d/f", 0o644, 10, t0),
		entry("d/g", 0o600, 20, t0),
		entry("d/l", fs.ModeSymlink|0o777, 3, t0),
	}
	m := Manifest{}
	for _, e := range base {
		m[e.Path] = ManifestEntry{Path: e.Path, Mode: e.Mode, Size: e.Size, ModTime: e.ModTime}
	}
	edit := func(p string, f func(e *Entry)) []Entry {
		out := slices.Clone(base)
		for i := range out {
			if out[i].Path == p {
				f(&out[i])
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		now  []Entry
		want []string
	}{
		{"unchanged", base, nil},
		{"added", append(slices.Clone(base), entry("d/new", 0o644, 1, t0)), []string{"added: d/new"}},
		{"removed", base[:3], []string{"removed: d/l"}},
		{"size", edit("d/f", func(e *Entry) { e.Size = 11 }), []string{"changed: d/f"}},
		{"mtime", edit("d/f", func(e *Entry) { e.ModTime = t0.Add(time.Second) }), []string{"changed: d/f"}},
		{"mode", edit("d/g", func(e *Entry) { e.Mode = 0o644 }), []string{"changed: d/g"}},
		{"type", edit("d/g", func(e *Entry) { e.Mode = fs.ModeDir | 0o600 }), []string{"changed: d/g"}},
		{"dir mode", edit("d", func(e *Entry) { e.Mode = fs.ModeDir | 0o700 }), []string{"changed: d"}},
		{"dir mtime only", edit("d", func(e *Entry) { e.ModTime = t0.Add(time.Hour) }), nil},
		{"link time", edit("d/l", func(e *Entry) { e.ModTime = t0.Add(time.Minute) }), []string{"changed: d/l"}},
		{"whole seconds (SFTP)", edit("d/f", func(e *Entry) { e.ModTime = t0.Truncate(time.Second) }), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := m.Changed(c.now, nil)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("Changed = %q, want %q", got, c.want)
			}
		})
	}
}

func TestExcuse(t *testing.T) {
	changes := []string{"added: a/new", "changed: b/f", "removed: c/d/e", "removed: c", "changed: x/y", "added: cc/z"}
	for _, c := range []struct {
		name    string
		journal []string
		want    []string
	}{
		{"no journal", nil, changes},
		{"planned paths", []string{"a/new", "x/y"}, []string{"changed: b/f", "removed: c/d/e", "removed: c", "added: cc/z"}},
		{"a planned subtree", []string{"c/"}, []string{"added: a/new", "changed: b/f", "changed: x/y", "added: cc/z"}},
		{"a deeper subtree", []string{"c/d/"}, []string{"added: a/new", "changed: b/f", "removed: c", "changed: x/y", "added: cc/z"}},
		{"a plain path excuses nothing below it", []string{"c"}, []string{"added: a/new", "changed: b/f", "removed: c/d/e", "changed: x/y", "added: cc/z"}},
		{"unrelated", []string{"q"}, changes},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := excuse(changes, c.journal); !slices.Equal(got, c.want) {
				t.Fatalf("excuse = %q, want %q", got, c.want)
			}
		})
	}
}

// TestJournalRoundTrip: the paths and temporary tokens a run writes in its
// journal come back, set-asides as subtrees, a cut run's records are kept
// by the next run's journal, and they excuse exactly what was changing.
func TestJournalRoundTrip(t *testing.T) {
	fsys := openLocal(t, t.TempDir())
	p := &Plan{Actions: []Action{{Op: OpCopy, Path: "a/new"}, {Op: OpSetAside, Path: "c"}, {Op: OpDelete, Path: "name with \"quotes\"\n"}}}
	first, second := transport.NewTempToken(), transport.NewTempToken()
	cut := journal{}.extend(first, &Plan{Actions: []Action{{Op: OpCopy, Path: "old"}}})
	if err := writeJournal(fsys, cut.extend(second, p)); err != nil {
		t.Fatal(err)
	}
	got, err := readJournal(fsys)
	if err != nil || !slices.Equal(got.Paths, []string{"old", "a/new", "c/", "name with \"quotes\"\n"}) {
		t.Fatalf("journal %q, %v", got.Paths, err)
	}
	if len(got.Temps) != 2 || !got.Temps[first] || !got.Temps[second] {
		t.Fatalf("journal tokens %v, want %s and %s", got.Temps, first, second)
	}
	if left := excuse([]string{"added: a/new", "removed: c/d", "changed: b", "changed: old"}, got.Paths); !slices.Equal(left, []string{"changed: b"}) {
		t.Fatalf("excused %q", left)
	}
	if err := removeJournal(fsys); err != nil {
		t.Fatal(err)
	}
	if got, err := readJournal(fsys); !got.empty() || err != nil {
		t.Fatalf("after remove: %v, %v", got, err)
	}
}

// deadPID returns the pid of a process that has ended and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	testenv.Require(t, "the program true", cmd.Run())
	return cmd.Process.Pid
}

func TestAcquireLock(t *testing.T) {
	host, _ := os.Hostname()
	foreign := func(age time.Duration) string {
		return fmt.Sprintf("host = \"elsewhere\"\npid = 1\nstarted = %s\ncommand = \"backup elixir\"\n", time.Now().Add(-age).UTC().Format(time.RFC3339))
	}
	for _, c := range []struct {
		name    string
		lock    string // the lock found; "" for none
		age     time.Duration
		rule    string // "" when the lock is taken
		warning string // a takeover's warning
	}{
		{"free", "", 0, "", ""},
		{"live process here", fmt.Sprintf("host = %q\npid = %d\nstarted = 2026-01-01T00:00:00Z\ncommand = \"backup elixir\"\n", host, os.Getpid()), 0, "lock-held", ""},
		{"dead process here", fmt.Sprintf("host = %q\npid = %d\nstarted = 2026-01-01T00:00:00Z\ncommand = \"backup elixir\"\n", host, deadPID(t)), 0, "", "took over the stale lock of " + host},
		{"other host, recent", foreign(time.Hour), 0, "lock-held", ""},
		{"other host, old", foreign(25 * time.Hour), 0, "", "took over the stale lock of elsewhere pid 1"},
		{"unreadable, recent", "host = \"half", 0, "lock-held", ""},
		{"unreadable, old", "host = \"half", 48 * time.Hour, "", "took over the stale lock of ? pid 0 (unreadable lock)"},
	} {
		t.Run(c.name, func(t *testing.T) { checkAcquire(t, c.lock, c.age, c.rule, c.warning) })
	}
}

// checkAcquire finds lock (none when "") written age ago, and checks that
// LiveHolder and AcquireLock agree on it: refused with rule, or taken over
// with warning; a taken lock names this process and goes on Release.
func checkAcquire(t *testing.T, lock string, age time.Duration, rule, warning string) {
	dir := t.TempDir()
	fsys := openLocal(t, dir)
	lockPath := filepath.Join(dir, LockFile)
	if lock != "" {
		if err := os.WriteFile(lockPath, []byte(lock), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(lockPath, old, old); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(lockPath)
	holder, err := LiveHolder(fsys, 24*time.Hour)
	if err != nil || (holder != nil) != (rule != "") {
		t.Fatalf("LiveHolder = %v, %v; want held %v", holder, err, rule != "")
	}
	l, got, err := AcquireLock(fsys, "backup elixir", 24*time.Hour)
	wantVerdict(t, err, rule)
	if rule != "" {
		if after, _ := os.ReadFile(lockPath); string(after) != string(before) {
			t.Fatalf("a refused lock changed the lock file: %q", after)
		}
		return
	}
	if !strings.Contains(got, warning) || (warning == "") != (got == "") {
		t.Fatalf("warning %q, want %q", got, warning)
	}
	host, _ := os.Hostname()
	info, err := ReadLock(fsys)
	if err != nil || info == nil || info.PID != os.Getpid() || info.Host != host || info.Command != "backup elixir" {
		t.Fatalf("lock now %+v, %v", info, err)
	}
	if _, _, err := AcquireLock(fsys, "backup elixir", 24*time.Hour); !errors.Is(err, ErrRefused) {
		t.Fatalf("second acquire: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(lockPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lock left after release: %v", err)
	}
}

// TestLockLeavesNoTraceOnRootTime: a run refused after taking the lock
// gives the root the mtime it had before; any other run keeps the mtime it
// set (the source's, when the whole root is in scope), not the lock's
// removal time.
func TestLockLeavesNoTraceOnRootTime(t *testing.T) {
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	during := time.Date(2025, 6, 7, 8, 9, 10, 11, time.UTC)
	for _, c := range []struct {
		err  error
		want time.Time
	}{{&Refusal{Rule: "max-delete", Found: "too many"}, old}, {nil, during}, {syscall.EIO, during}} {
		dir := t.TempDir()
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		fsys := openLocal(t, dir)
		lock, _, err := AcquireLock(fsys, "backup elixir", 0)
		if err != nil {
			t.Fatal(err)
		}
		if c.err == nil || !errors.Is(c.err, ErrRefused) {
			if err := fsys.Chtimes(".", during); err != nil { // what the run did
				t.Fatal(err)
			}
		}
		lock.release(c.err)
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(c.want) {
			t.Errorf("after a run ending with %v: root mtime %s, want %s", c.err, fi.ModTime(), c.want)
		}
		if _, err := os.Lstat(filepath.Join(dir, LockFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("lock left: %v", err)
		}
	}
}

// failMarkerWrite is a copy on which the marker cannot be written: the
// host crashes, or the disk fails, at that moment.
type failMarkerWrite struct{ transport.FS }

func (f failMarkerWrite) Rename(oldname, newname string) error {
	if newname == MarkerFile {
		return &fs.PathError{Op: "rename", Path: newname, Err: syscall.EIO}
	}
	return f.FS.Rename(oldname, newname)
}

// TestSwapMarkersOrder: a swap cut between its two marker writes leaves two
// mirrors, which every backup refuses until an admin decides, and never
// two sources; cut before the first, it leaves the pair as it was.
func TestSwapMarkersOrder(t *testing.T) {
	for _, c := range []struct {
		name                 string
		failSrc, failDst     bool
		srcRole, dstRole     string
		backupRule, swapRule string
	}{
		{"cut between the writes", false, true, RoleMirror, RoleMirror, "no-source", "no-source"},
		{"cut before the first", true, false, RoleSource, RoleMirror, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var src, dst transport.FS = openLocal(t, t.TempDir()), openLocal(t, t.TempDir())
			sm, dm := marker("s", RoleSource, 1), marker("d", RoleMirror, 1)
			for _, w := range []struct {
				fsys transport.FS
				m    *Marker
			}{{src, sm}, {dst, dm}} {
				if err := WriteMarker(w.fsys, w.m); err != nil {
					t.Fatal(err)
				}
			}
			demoted, promoted := marker("s", RoleMirror, 2), marker("d", RoleSource, 2)
			wsrc, wdst := src, dst
			if c.failSrc {
				wsrc = failMarkerWrite{src}
			}
			if c.failDst {
				wdst = failMarkerWrite{dst}
			}
			if err := swapMarkers(wsrc, wdst, demoted, promoted, nil); !errors.Is(err, syscall.EIO) {
				t.Fatalf("swapMarkers: %v", err)
			}
			s, err1 := ReadCopyState(src)
			d, err2 := ReadCopyState(dst)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if s.Marker.Role != c.srcRole || d.Marker.Role != c.dstRole {
				t.Fatalf("roles after the cut: %s, %s", s.Marker, d.Marker)
			}
			_, err := FenceBackup("elixir", s, d, true)
			wantVerdict(t, err, c.backupRule)
			// Nor can the table, flipped or not, make a source of a mirror.
			_, err = FenceBackup("elixir", d, s, true)
			if c.swapRule != "" {
				wantVerdict(t, err, c.swapRule)
			} else if err == nil {
				t.Fatal("the flipped table was accepted before the swap happened")
			}
		})
	}
}
