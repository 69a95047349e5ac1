package mirror

import (
	"io/fs"
	"strings"

	"github.com/mirrorfence/mirrorfence/transport"
)

// recordRun returns the manifest of the mirror after a run: the listing
// the plan was made from, changed by each action the run carried out, with
// the hashes known — what the run saw and wrote. Nothing is listed again
// after the run: whatever else the mirror holds later (a file users added
// or appended to while the run copied) is a change made outside the tool.
// old is the manifest before the run (nil for none): an entry the run
// neither changed nor hashed keeps its hash and trust from it.
func recordRun(p *Plan, res *Result, old Manifest) Manifest {
	m := make(Manifest, len(p.dst))
	for _, e := range p.dst {
		me := carried(e, old)
		if sum, ok := p.dstXattrs[e.Path]; ok {
			me.Xattrs = &sum
		}
		m[e.Path] = me
	}
	for i := range p.Actions {
		a := &p.Actions[i]
		if res == nil || !res.done[a] {
			continue // not carried out: the mirror holds what the listing saw
		}
		switch a.Op {
		case OpSetAside:
			m.removeTree(a.Path) // a directory goes with its subtree
		case OpDelete:
			delete(m, a.Path) // a directory's contents have deletions of their own
		case OpMkdir, OpSymlink, OpSpecial:
			m[a.Path] = manifestEntry(*a.Src, nil, Trusted)
		case OpCopy, OpUpdate:
			w := res.Written[a.Path]
			m[a.Path] = manifestEntry(Entry{Path: a.Path, FileInfo: w.Info}, w.Sum, w.Trust)
		case OpMeta:
			e := m[a.Path]
			e.Mode = e.Mode.Type() | a.Src.Mode.Perm()
			e.ModTime = a.Src.ModTime
			m[a.Path] = e
		}
		p.recordXattrs(m, a)
	}
	for i := range p.Actions { // a link holds what its group's first member holds
		if a := &p.Actions[i]; a.Op == OpHardlink && res != nil && res.done[a] {
			if e, ok := m[a.LinkTo]; ok {
				e.Path = a.Path
				m[a.Path] = e
			}
		}
	}
	for path, sum := range p.sums { // hashed equal on both sides while planning
		if e, ok := m[path]; ok && e.Mode.IsRegular() {
			e.Sum = &sum
			e.Trust = Trusted
			if racy(e.ModTime, p.hashed) {
				e.Trust = Racy
			}
			m[path] = e
		}
	}
	return m
}

// carried returns the manifest entry of mirror entry e as the run found
// it: with the old manifest's hash and trust when e is as recorded. An
// entry that is not (a cut run's write, excused by its journal, or a copy
// adopted by init) is trusted only when there was no manifest at all;
// otherwise the next run compares it by content once.
func carried(e Entry, old Manifest) ManifestEntry {
	if old.Matches(e) {
		o := old[e.Path]
		return manifestEntry(e, o.Sum, o.Trust)
	}
	trust := Trusted
	if old != nil && e.IsRegular() {
		trust = Racy
	}
	return manifestEntry(e, nil, trust)
}

// recordXattrs records in m the attributes that done action a gave its
// path: the source's, when the plan compared attributes (a new or
// replaced file, a directory made, attributes set).
func (p *Plan) recordXattrs(m Manifest, a *Action) {
	if p.dstXattrs == nil || a.Src == nil || !(a.Src.IsRegular() || a.Src.IsDir()) {
		return
	}
	switch a.Op {
	case OpMkdir, OpCopy, OpUpdate, OpMeta:
		if e, ok := m[a.Path]; ok {
			sum := xattrDigest(p.xattrs[a.Path])
			e.Xattrs = &sum
			m[a.Path] = e
		}
	}
}

func manifestEntry(e Entry, sum *transport.Sum, trust Trust) ManifestEntry {
	me := ManifestEntry{Path: e.Path, Mode: e.Mode & (fs.ModeType | fs.ModePerm), Size: e.Size, ModTime: e.ModTime}
	if e.IsRegular() {
		me.Sum, me.Trust = sum, trust
	} else {
		me.Size = 0
	}
	return me
}

// removeTree drops p and everything below it. It walks the whole manifest
// (set-asides of directories are rare; deletions use delete).
func (m Manifest) removeTree(p string) {
	delete(m, p)
	prefix := p + "/"
	for q := range m {
		if strings.HasPrefix(q, prefix) {
			delete(m, q)
		}
	}
}

// manifestOf returns the manifest of a listing, with the hashes that old
// recorded for entries still as it recorded them.
func manifestOf(entries []Entry, old Manifest) Manifest {
	m := make(Manifest, len(entries))
	for _, e := range entries {
		m[e.Path] = carried(e, old)
	}
	return m
}
