package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// drillTable is the table of the drill, with comments that every rewrite
// must keep.
func drillTable(source, mirrorRoot string) string {
	return " # /data/elixir: detrend frames and test runs\n" +
		" TARGET  elixir\n" +
		"         SOURCE  " + source + "   # uhane's data disk\n" +
		"         # the mirror is exported read-only\n" +
		"         MIRROR  " + mirrorRoot + "\n" +
		"         DIR     detrend\n" +
		"         DIR     tests\n"
}

// drill keeps the books of a failover drill between copies A (w.src) and
// B (w.dst): what every file written at any point must hold on the final
// source, and what the trash of each copy must hold once the tool has
// replaced or deleted it there.
type drill struct {
	*world
	pair  string
	want  map[string]string            // path -> content on the final source
	trash map[string]map[string]string // copy -> path -> content its trash must keep
}

// put writes a file on the copy at root and records it.
func (d *drill) put(root, p, content string) {
	d.t.Helper()
	writeFile(d.t, filepath.Join(root, p), content)
	d.want[p] = content
}

func (d *drill) read(root, p string) string {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	must(d.t, err)
	return string(b)
}

func (d *drill) assertTable(want string) {
	d.t.Helper()
	got, err := os.ReadFile(d.tab)
	must(d.t, err)
	if string(got) != want {
		d.t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

func assertMarker(t *testing.T, root, role string, epoch int64) *mirror.Marker {
	t.Helper()
	m := readMarker(t, root)
	if m.Role != role || m.Epoch != epoch {
		t.Fatalf("%s: marker %s, want role %s at epoch %d", root, m, role, epoch)
	}
	return m
}

// TestFailoverDrill is the drill of issue 3 on local paths: init, backup;
// the source dies; promote --write-table; writes land on the new source;
// the old source returns and is refused; check; backup --discard-stale;
// swap back. No file written at any point is lost, and the trash of each
// demoted copy holds everything the tool replaced or deleted there.
func TestFailoverDrill(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	d := &drill{world: w, want: map[string]string{}, trash: map[string]map[string]string{w.src: {}, w.dst: {}}}
	must(t, os.WriteFile(w.tab, []byte(drillTable(w.src, w.dst)), 0o644))
	makeTree(t, w.src)
	d.put(w.src, "detrend/before.txt", "written before the first run")
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	w.assertSame()
	d.pair = assertMarker(t, w.src, mirror.RoleSource, 1).Pair

	d.failOver()
	d.staleSourceReturns()
	d.swapBack()

	for p, content := range d.want {
		if got := d.read(w.src, p); got != content {
			t.Errorf("final source %s: %q, want %q", p, got, content)
		}
	}
	for root, files := range d.trash {
		for p, content := range files {
			assertInTrash(t, root, p, content)
		}
	}
}

// failOver: A dies with a write the mirror never saw; B is promoted and
// the table rewritten; writes land on B.
func (d *drill) failOver() {
	t, a, b := d.t, d.src, d.dst
	d.put(a, "detrend/lost write.txt", "written on A after the last run")
	must(t, os.Rename(a, a+".dead"))
	r := d.mustRun(3, "backup", "elixir")
	assertWords(t, r.stderr, []string{"does not exist", "not mounted?"})
	r = d.mustRun(0, "promote", "elixir", "--write-table")
	assertWords(t, r.stdout, []string{"promoted " + b, "role source, epoch 2", "now says: SOURCE " + b + ", MIRROR " + a})
	d.assertTable(drillTable(b, a))
	assertMarker(t, b, mirror.RoleSource, 2)

	d.put(b, "detrend/after failover.txt", "v1, on B")
	d.trash[a]["detrend/one.txt"] = d.read(a+".dead", "detrend/one.txt")
	d.put(b, "detrend/one.txt", "edited on B")
	d.trash[a]["tests/run.sh"] = d.read(b, "tests/run.sh")
	must(t, os.Remove(filepath.Join(b, "tests/run.sh")))
	delete(d.want, "tests/run.sh")
}

// staleSourceReturns: A comes back as a stale former source in the MIRROR
// position and is refused; check shows what differs; the admin saves the
// write A kept and discards the rest of A, which is demoted.
func (d *drill) staleSourceReturns() {
	t, a, b := d.t, d.src, d.dst
	must(t, os.Rename(a+".dead", a))
	before := snapshot(t, d.dir)
	r := d.mustRun(3, "backup", "elixir")
	assertWords(t, r.stderr, []string{"stale former source (epoch 1", "backup check elixir", "--discard-stale"})
	r = d.mustRun(1, "check", "elixir")
	assertWords(t, r.stdout, []string{"missing: detrend/after failover.txt", "differ:  detrend/one.txt", "extra:   detrend/lost write.txt", "extra:   tests/run.sh"})
	assertWords(t, r.stderr, []string{"a backup would be refused", "stale former source"})
	assertUnchanged(t, d.dir, before)

	d.trash[a]["detrend/lost write.txt"] = d.read(a, "detrend/lost write.txt")
	d.put(b, "detrend/lost write.txt", d.read(a, "detrend/lost write.txt"))
	d.mustRun(0, "backup", "elixir", "--discard-stale")
	d.assertSame()
	if m := assertMarker(t, a, mirror.RoleMirror, 2); m.Pair != d.pair || m.Synced == nil || m.Synced.Source != readMarker(t, b).Copy {
		t.Fatalf("demoted A: %s, synced %+v", m, m.Synced)
	}
	// Nightly runs go on in the new direction.
	d.trash[a]["detrend/after failover.txt"] = "v1, on B"
	d.put(b, "detrend/after failover.txt", "v2, on B")
	d.put(b, "tests/new on B/deep.txt", "new on B")
	d.mustRun(0, "backup", "elixir")
}

// swapBack: a planned swap whose final run carries the last writes on B;
// then A is the source again and B, demoted, its mirror.
func (d *drill) swapBack() {
	t, a, b := d.t, d.src, d.dst
	d.put(b, "detrend/just before the swap.txt", "last write on B")
	r := d.mustRun(0, "swap", "elixir")
	assertWords(t, r.stdout, []string{a + ": role source, epoch 3", b + ": role mirror, epoch 3"})
	d.assertTable(drillTable(a, b))
	assertMarker(t, a, mirror.RoleSource, 3)
	assertMarker(t, b, mirror.RoleMirror, 3)

	d.put(a, "detrend/final.txt", "on A again")
	d.trash[b]["detrend/before.txt"] = d.read(b, "detrend/before.txt")
	d.put(a, "detrend/before.txt", "edited on A again")
	d.mustRun(0, "backup", "elixir")
	d.assertSame()
	d.mustRun(0, "check", "elixir")
}

// TestPlannedSwap: with both copies reachable, swap carries the last
// writes over, flips both markers (epoch+1) and the table, and the next
// runs go the other way; a second swap flips everything back.
func TestPlannedSwap(t *testing.T) {
	w := syncedWorld(t, false)
	a, b := w.src, w.dst
	pair := readMarker(t, a).Pair
	orig, err := os.ReadFile(w.tab)
	must(t, err)
	writeFile(t, filepath.Join(a, "detrend/last.txt"), "written just before the swap")
	writeFile(t, filepath.Join(a, "detrend/one.txt"), "edited just before the swap")
	w.mustRun(0, "swap", "elixir")
	for _, root := range []string{a, b} {
		for p, want := range map[string]string{"detrend/last.txt": "written just before the swap", "detrend/one.txt": "edited just before the swap"} {
			if got, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(got) != want {
				t.Fatalf("%s/%s: %q %v", root, p, got, err)
			}
		}
	}
	w.assertSame()
	ma, mb := assertMarker(t, a, mirror.RoleMirror, 2), assertMarker(t, b, mirror.RoleSource, 2)
	if ma.Pair != pair || mb.Pair != pair || ma.Synced == nil || ma.Synced.Source != mb.Copy {
		t.Fatalf("after swap: %s (synced %+v); %s", ma, ma.Synced, mb)
	}
	tab, err := os.ReadFile(w.tab)
	must(t, err)
	if string(tab) == string(orig) || !strings.Contains(string(tab), "SOURCE  "+b+"\n") || !strings.Contains(string(tab), "MIRROR  "+a+"\n") {
		t.Fatalf("table not flipped:\n%s", tab)
	}
	r := w.mustRun(0, "backup", "elixir", "--dry-run")
	assertWords(t, r.stdout, []string{"total: 0 files"})
	writeFile(t, filepath.Join(b, "tests/on b.txt"), "now written on B")
	w.mustRun(0, "backup", "elixir")
	if got, err := os.ReadFile(filepath.Join(a, "tests/on b.txt")); err != nil || string(got) != "now written on B" {
		t.Fatalf("the new direction does not run: %q %v", got, err)
	}
	w.mustRun(0, "swap", "elixir")
	assertMarker(t, a, mirror.RoleSource, 3)
	assertMarker(t, b, mirror.RoleMirror, 3)
	if now, err := os.ReadFile(w.tab); err != nil || string(now) != string(orig) {
		t.Fatalf("table after swapping back:\n%s\nwant:\n%s", now, orig)
	}
	w.mustRun(0, "backup", "elixir")
	w.assertSame()
}

// TestCutSwapRecovered: a swap cut after it demoted the source and before
// it promoted the mirror leaves two mirrors; backup refuses (no-source,
// nothing written), and promote --write-table finishes the swap.
func TestCutSwapRecovered(t *testing.T) {
	w := syncedWorld(t, false)
	editMarker(t, w.src, func(m *mirror.Marker) { m.Role, m.Epoch = mirror.RoleMirror, 2 })
	before := snapshot(t, w.dir)
	r := w.mustRun(3, "backup", "elixir")
	assertWords(t, r.stderr, []string{"neither", "is marked as source", "promote elixir"})
	assertUnchanged(t, w.dir, before)

	w.mustRun(0, "promote", "elixir", "--write-table")
	assertMarker(t, w.dst, mirror.RoleSource, 3)
	writeFile(t, filepath.Join(w.dst, "detrend/after.txt"), "on the new source")
	w.mustRun(0, "backup", "elixir")
	w.assertSame()
	assertMarker(t, w.src, mirror.RoleMirror, 3)
}
