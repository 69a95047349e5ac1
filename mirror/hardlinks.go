package mirror

import (
	"fmt"

	"github.com/mirrorfence/mirrorfence/transport"
)

// inode identifies a file on an endpoint: its hard links share it.
type inode struct{ dev, ino uint64 }

func inodeOf(e *Entry) inode { return inode{e.Dev, e.Ino} }

// keepHardLinks turns the plan into one that keeps the source's hard links
// (rsync -H): in each group of source paths that are one file, the first in
// walk order (the leader) is copied as any file, and every other member
// that is not already a link of the leader's copy becomes an OpHardlink to
// it. A destination file linked to paths that are not one file on the
// source (a link broken there) gets a copy of its own.
//
// A destination that does not report link counts (SFTP listings) cannot
// show which of its files are linked: then nothing is changed here and a
// warning says so, rather than relinking every member on every run.
func (p *Plan) keepHardLinks() {
	groups, leaderOf := sourceLinkGroups(p.linked)
	dstAt := make(map[string]*Entry)
	dstGroups := make(map[inode][]string)
	var order []inode // of the groups' first paths, for a plan in walk order
	for k := range p.dst {
		d := &p.dst[k]
		if !d.IsRegular() {
			continue
		}
		if d.Nlink == 0 {
			if len(groups) > 0 {
				p.Warnings = append(p.Warnings, fmt.Sprintf("hard links not kept: %s does not report link counts", p.To))
			}
			return
		}
		dstAt[d.Path] = d
		if d.Nlink > 1 {
			if _, seen := dstGroups[inodeOf(d)]; !seen {
				order = append(order, inodeOf(d))
			}
			dstGroups[inodeOf(d)] = append(dstGroups[inodeOf(d)], d.Path)
		}
	}
	if len(groups) == 0 && len(order) == 0 {
		return
	}
	at := p.actionIndex()
	p.breakForeignLinks(order, dstGroups, dstAt, leaderOf, at)
	for _, g := range groups {
		p.linkMembers(g, dstAt, at)
	}
}

// sourceLinkGroups groups the source files with more than one link by
// inode, keeping groups of two or more paths in scope; leaderOf maps each
// member's path to its group's first path.
func sourceLinkGroups(linked []*Entry) (groups [][]*Entry, leaderOf map[string]string) {
	byInode := make(map[inode]int)
	for _, e := range linked {
		k, ok := byInode[inodeOf(e)]
		if !ok {
			k = len(groups)
			byInode[inodeOf(e)] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], e)
	}
	leaderOf = make(map[string]string)
	kept := groups[:0]
	for _, g := range groups {
		if len(g) < 2 {
			continue // its other links are outside the DIRs
		}
		for _, e := range g {
			leaderOf[e.Path] = g[0].Path
		}
		kept = append(kept, g)
	}
	return kept, leaderOf
}

// actionIndex maps each path to the index of its file action (copy,
// update, metadata, symlink) and, with a "!" prefix, of its set-aside.
func (p *Plan) actionIndex() map[string]int {
	at := make(map[string]int, len(p.Actions))
	for i, a := range p.Actions {
		switch a.Op {
		case OpCopy, OpUpdate, OpMeta, OpSymlink:
			at[a.Path] = i
		case OpSetAside:
			at["!"+a.Path] = i
		}
	}
	return at
}

// breakForeignLinks gives a copy of its own to each destination file that
// shares its inode with a path of another source file: in each destination
// group, the first path that leads its source group (or is no member of
// one) and is not copied anyway keeps the inode; later such paths are
// copied anew. Members that are
// not leaders are relinked by linkMembers.
func (p *Plan) breakForeignLinks(order []inode, dstGroups map[inode][]string, dstAt map[string]*Entry, leaderOf map[string]string, at map[string]int) {
	for _, ino := range order {
		paths := dstGroups[ino]
		keeper := ""
		for _, x := range paths {
			if l, member := leaderOf[x]; member && l != x {
				continue
			}
			s := p.srcOfLinked[x]
			if s == nil || !s.IsRegular() {
				continue // deleted on the source, or of another type: replaced anyway
			}
			i, ok := at[x]
			if ok && (p.Actions[i].Op == OpCopy || p.Actions[i].Op == OpUpdate) {
				continue // gets a new file anyway: leaves the inode
			}
			if keeper == "" {
				keeper = x
				continue
			}
			switch {
			case !ok:
				at[x] = len(p.Actions)
				p.add(Action{Op: OpUpdate, Path: x, Src: s, Dst: dstAt[x], Why: ChangeContent})
			case p.Actions[i].Op == OpMeta:
				p.Actions[i].Op, p.Actions[i].Why = OpUpdate, p.Actions[i].Why|ChangeContent
			}
		}
	}
}

// linkMembers plans the links of one source group g: each member but the
// leader whose destination is not the leader's inode (or whose leader is
// copied anew) becomes an OpHardlink, replacing its own file action.
func (p *Plan) linkMembers(g []*Entry, dstAt map[string]*Entry, at map[string]int) {
	leader := g[0]
	fresh := false
	if i, ok := at[leader.Path]; ok {
		op := p.Actions[i].Op
		fresh = op == OpCopy || op == OpUpdate
	}
	dl := dstAt[leader.Path]
	for _, m := range g[1:] {
		dm := dstAt[m.Path]
		_, setAside := at["!"+m.Path]
		if setAside {
			dm = nil // moved out of the way first: the link is made where nothing is
		}
		if !fresh && dl != nil && dm != nil && inodeOf(dm) == inodeOf(dl) {
			continue // already the leader's file
		}
		a := Action{Op: OpHardlink, Path: m.Path, Src: m, Dst: dm, LinkTo: leader.Path}
		if i, ok := at[m.Path]; ok {
			p.Actions[i] = a
		} else {
			p.add(a)
		}
	}
}

// canLink reports whether hard links are wanted and dst can make them.
func canLink(dst transport.FS, want bool) bool {
	_, ok := dst.(transport.Linker)
	return want && ok
}
