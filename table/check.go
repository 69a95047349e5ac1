package table

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// reservedPrefix starts the names the tool keeps at a root (.backup-id,
// .backup-trash, ...); they are never mirrored, so no DIR may name them.
const reservedPrefix = ".backup-"

// cleanDir checks and cleans the value of a DIR line. It returns the
// cleaned path, or a message saying what is wrong with it.
func cleanDir(raw string) (string, string) {
	if strings.HasPrefix(raw, "/") {
		return "", "is absolute; a DIR is relative to the SOURCE and MIRROR roots"
	}
	d := path.Clean(raw)
	switch {
	case d == ".":
		return "", "is the whole root; leave out the DIR lines to copy the whole root"
	case d == ".." || strings.HasPrefix(d, "../"):
		return "", "climbs out of the root with .."
	case !fs.ValidPath(d):
		return "", "is not a valid path"
	case strings.HasPrefix(d, reservedPrefix):
		return "", "names the tool's own files (" + reservedPrefix + "*), which are never mirrored"
	}
	return d, ""
}

// endTarget finishes the current TARGET block: it reports a missing SOURCE
// or MIRROR at the TARGET line and a SOURCE and MIRROR that overlap, and
// keeps the block if its name was good.
func (p *parser) endTarget() {
	b := p.cur
	if b == nil {
		return
	}
	who := "TARGET"
	if b.t.Name != "" {
		who = fmt.Sprintf("target %q", b.t.Name)
	}
	if b.source == nil {
		p.errorf(b.t.Line, "%s has no SOURCE", who)
	}
	if b.mirror == nil {
		p.errorf(b.t.Line, "%s has no MIRROR", who)
	}
	if b.source != nil && b.mirror != nil && b.source.ok && b.mirror.ok {
		b.t.Source, b.t.Mirror = b.source.ep, b.mirror.ep
		first, second := b.source, b.mirror
		if second.line < first.line {
			first, second = second, first
		}
		if rel := relation(second.ep, first.ep); rel != "" {
			p.errorf(second.line, "%s %q %s %s %q (line %d)", second.kw, second.ep.String(), rel, first.kw, first.ep.String(), first.line)
		}
	}
	if def, ok := p.names[strings.ToLower(b.t.Name)]; ok && def.line == b.t.Line {
		p.blocks = append(p.blocks, b)
	}
	p.cur = nil
}

// relation says how a lies to b: "is the same place as", "is inside",
// "contains", or "" when they do not overlap.
func relation(a, b Endpoint) string {
	switch {
	case a.Same(b):
		return "is the same place as"
	case a.Within(b):
		return "is inside"
	case b.Within(a):
		return "contains"
	}
	return ""
}

// checkTargets reports targets that would get in each other's way, each
// problem at the line of the later target:
//
//   - two roots (SOURCE or MIRROR) of different targets that are the same
//     place: a root holds the identity marker of one target only;
//   - a root of one target inside what another target's runs write and
//     delete on its MIRROR (the MIRROR root, or MIRROR/DIR for each DIR).
//
// Roots may otherwise nest: a MIRROR inside another target's SOURCE is fine
// (a partition may hold the mirror of another one and be backed up itself),
// and so are a SOURCE inside another SOURCE, and a MIRROR whose DIRs stay
// clear of the roots below it.
func (p *parser) checkTargets() {
	for j, bj := range p.blocks {
		if !bj.complete() {
			continue
		}
		for _, bi := range p.blocks[:j] {
			if bi.complete() {
				p.checkPair(bi, bj)
			}
		}
	}
}

// checkPair checks the earlier target bi against the later target bj.
func (p *parser) checkPair(bi, bj *block) {
	same := false
	for _, rj := range bj.roots() {
		for _, ri := range bi.roots() {
			if rj.ep.Same(ri.ep) {
				same = true
				p.errorf(rj.line, "%s %q is the same place as %s %q of target %q (line %d); a root belongs to one target only",
					rj.kw, rj.ep.String(), ri.kw, ri.ep.String(), bi.t.Name, ri.line)
			}
		}
	}
	if same {
		return
	}
	for _, rj := range bj.roots() {
		if sc, ok := bi.overwrites(rj.ep); ok {
			p.errorf(rj.line, "%s %q is inside %s of target %q (line %d), whose runs would overwrite it",
				rj.kw, rj.ep.String(), sc, bi.t.Name, bi.mirror.line)
		}
	}
	for _, ri := range bi.roots() {
		if sc, ok := bj.overwrites(ri.ep); ok {
			p.errorf(bj.mirror.line, "%s would overwrite %s %q of target %q (line %d)",
				sc, ri.kw, ri.ep.String(), bi.t.Name, ri.line)
		}
	}
}

// roots returns the SOURCE and MIRROR of a complete block.
func (b *block) roots() [2]*role { return [2]*role{b.source, b.mirror} }

// overwrites reports whether e lies in what the target's runs write on its
// MIRROR, and names that part: `MIRROR "m:/x"` or `MIRROR "m:/x" DIR "d"`.
func (b *block) overwrites(e Endpoint) (string, bool) {
	m := b.mirror.ep
	if len(b.t.Dirs) == 0 {
		return fmt.Sprintf("MIRROR %q", m.String()), e.Within(m)
	}
	for _, d := range b.t.Dirs {
		if e.Within(Endpoint{Host: m.Host, Path: path.Join(m.Path, d)}) {
			return fmt.Sprintf("MIRROR %q DIR %q", m.String(), d), true
		}
	}
	return "", false
}

// complete reports whether the block has a good SOURCE and MIRROR.
func (b *block) complete() bool {
	return b.source != nil && b.mirror != nil && b.source.ok && b.mirror.ok
}
