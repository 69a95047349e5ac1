package mirror

import (
	"io/fs"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// TestCarried: an entry of the mirror as the old manifest recorded it
// keeps its hash and trust; one that differs from the record (a cut run's
// write, a copy adopted by init) is racy — compared by content next run —
// unless there was no manifest at all; a directory or symlink has neither
// hash nor size.
func TestCarried(t *testing.T) {
	sum := transport.Sum{1, 2, 3}
	file := Entry{Path: "d/f", FileInfo: transport.FileInfo{Mode: 0o644, Size: 5, ModTime: t0}}
	old := Manifest{"d/f": {Path: "d/f", Mode: 0o644, Size: 5, ModTime: t0, Sum: &sum, Trust: Torn}}
	grown := file
	grown.Size = 6
	dir := Entry{Path: "d", FileInfo: transport.FileInfo{Mode: fs.ModeDir | 0o755, Size: 4096, ModTime: t0}}
	for _, tc := range []struct {
		name      string
		e         Entry
		old       Manifest
		wantSum   bool
		wantTrust Trust
		wantSize  int64
	}{
		{"as recorded", file, old, true, Torn, 5},
		{"changed since", grown, old, false, Racy, 6},
		{"no manifest", file, nil, false, Trusted, 5},
		{"directory", dir, old, false, Trusted, 0},
	} {
		got := carried(tc.e, tc.old)
		if (got.Sum != nil) != tc.wantSum || got.Trust != tc.wantTrust || got.Size != tc.wantSize {
			t.Errorf("%s: sum %v, trust %v, size %d; want sum %v, trust %v, size %d", tc.name, got.Sum, got.Trust, got.Size, tc.wantSum, tc.wantTrust, tc.wantSize)
		}
	}
}

// TestRecordRunActions: the manifest after a run is the listing changed by
// what the run carried out, and only that: a set-aside directory goes with
// its subtree, a deletion goes, a metadata change takes the source's mode
// and mtime; an action not carried out leaves the entry as listed; hashes
// learnt while planning make an entry trusted, or racy when its mtime was
// too close to the hashing.
func TestRecordRunActions(t *testing.T) {
	fi := func(mode fs.FileMode, size int64, mt time.Time) transport.FileInfo {
		return transport.FileInfo{Mode: mode, Size: size, ModTime: mt}
	}
	later := t0.Add(time.Hour)
	p := &Plan{dst: []Entry{
		{Path: "d/old", FileInfo: fi(fs.ModeDir|0o755, 0, t0)},
		{Path: "d/old/x", FileInfo: fi(0o644, 1, t0)},
		{Path: "d/gone", FileInfo: fi(0o644, 1, t0)},
		{Path: "d/meta", FileInfo: fi(0o644, 1, t0)},
		{Path: "d/kept", FileInfo: fi(0o644, 1, t0)},
		{Path: "d/hashed", FileInfo: fi(0o644, 1, t0)},
		{Path: "d/fresh", FileInfo: fi(0o644, 1, later)},
	}}
	src := Entry{Path: "d/meta", FileInfo: fi(0o600, 1, later)}
	p.Actions = []Action{
		{Op: OpSetAside, Path: "d/old"},
		{Op: OpDelete, Path: "d/gone"},
		{Op: OpMeta, Path: "d/meta", Src: &src},
		{Op: OpDelete, Path: "d/kept"}, // not carried out
	}
	sum := transport.Sum{9}
	p.sums = map[string]transport.Sum{"d/hashed": sum, "d/fresh": sum}
	p.hashed = later.Add(time.Second)
	res := &Result{done: map[*Action]bool{&p.Actions[0]: true, &p.Actions[1]: true, &p.Actions[2]: true}}
	m := recordRun(p, res, nil)
	for _, gone := range []string{"d/old", "d/old/x", "d/gone"} {
		if _, ok := m[gone]; ok {
			t.Errorf("%s still recorded", gone)
		}
	}
	if e := m["d/meta"]; e.Mode != 0o600 || !e.ModTime.Equal(later) {
		t.Errorf("d/meta recorded %v %v, want the source's mode and mtime", e.Mode, e.ModTime)
	}
	if _, ok := m["d/kept"]; !ok {
		t.Errorf("d/kept, whose deletion did not happen, is not recorded")
	}
	if e := m["d/hashed"]; e.Sum == nil || *e.Sum != sum || e.Trust != Trusted {
		t.Errorf("d/hashed: %+v, want the planning hash, trusted", e)
	}
	if e := m["d/fresh"]; e.Sum == nil || e.Trust != Racy {
		t.Errorf("d/fresh: %+v, want the planning hash, racy (hashed within a second of its mtime)", e)
	}
	if m := recordRun(p, nil, nil); len(m) != len(p.dst) { // no result: nothing done, every listed entry stays
		t.Errorf("with no result the manifest has %d entries, want the %d listed", len(m), len(p.dst))
	}
}
