package mirror

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/zeebo/blake3"
)

// ChangeXattr marks extended attributes (POSIX ACLs among them) that
// differ.
const ChangeXattr Change = 1 << 7

// xattrsWanted says which attributes a run keeps: every namespace as root;
// otherwise those a user may set (user.*) and POSIX ACLs, which the
// owner may set — security.* and trusted.* need privileges.
func xattrsWanted(root bool) func(string) bool {
	return func(name string) bool {
		return root || strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "system.posix_acl_")
	}
}

// xattrEndpoints returns the two endpoints' attribute capability, or a
// note saying which one cannot carry attributes.
func xattrEndpoints(src, dst transport.FS) (sx, dx transport.Xattrer, note string) {
	sx, sok := src.(transport.Xattrer)
	dx, dok := dst.(transport.Xattrer)
	for _, e := range []struct {
		ok   bool
		fsys transport.FS
	}{{sok, src}, {dok, dst}} {
		if !e.ok {
			return nil, nil, fmt.Sprintf("extended attributes and ACLs not kept: %s cannot carry them (over SFTP, without the remote helper)", e.fsys)
		}
	}
	return sx, dx, ""
}

// compareXattrs reads the attributes of every source file and directory
// in scope and of its destination counterpart, records the source's for
// the apply, and marks the entries whose attributes differ (adding a
// metadata change where nothing else was planned).
func (p *Plan) compareXattrs(ctx context.Context, src, dst transport.FS) error {
	sx, dx, note := xattrEndpoints(src, dst)
	if note != "" {
		p.Notes = append(p.Notes, note)
		return nil
	}
	want := xattrsWanted(p.Options.Owners)
	dstAt := make(map[string]*Entry, len(p.dst))
	for k := range p.dst {
		if d := &p.dst[k]; d.IsRegular() || d.IsDir() {
			dstAt[d.Path] = d
		}
	}
	type pair struct {
		s, d   []transport.Xattr
		sErr   error
		dErr   error
		hasDst bool
	}
	got := make([]pair, len(p.xattrSrc))
	err := forEach(ctx, len(got), p.Options.Workers, func(k int) {
		s := p.xattrSrc[k]
		got[k].s, got[k].sErr = sx.Xattrs(s.Path)
		if d := dstAt[s.Path]; d != nil && d.Mode.Type() == s.Mode.Type() {
			got[k].hasDst = true
			got[k].d, got[k].dErr = dx.Xattrs(s.Path)
		}
	})
	if err != nil {
		return err
	}
	at := make(map[string]int)
	for i, a := range p.Actions {
		if a.Src != nil {
			at[a.Path] = i
		}
	}
	p.xattrs = make(map[string][]transport.Xattr)
	p.dstXattrs = make(map[string]transport.Sum)
	for k, g := range got {
		s := p.xattrSrc[k]
		if g.sErr != nil {
			p.SourceErrors = append(p.SourceErrors, g.sErr)
			continue
		}
		if g.dErr != nil {
			p.DestErrors = append(p.DestErrors, g.dErr)
			continue
		}
		sw, dw := filterXattrs(g.s, want), filterXattrs(g.d, want)
		if len(sw) > 0 {
			p.xattrs[s.Path] = sw
		}
		if g.hasDst {
			p.dstXattrs[s.Path] = xattrDigest(dw)
		}
		if g.hasDst && transport.EqualXattrs(sw, dw) {
			continue
		}
		if !g.hasDst && len(sw) == 0 {
			continue
		}
		p.markXattrs(s, dstAt[s.Path], at)
	}
	return nil
}

// markXattrs adds ChangeXattr to the action of source entry s, or plans a
// metadata change for it.
func (p *Plan) markXattrs(s, d *Entry, at map[string]int) {
	if i, ok := at[s.Path]; ok {
		p.Actions[i].Why |= ChangeXattr
		return
	}
	p.add(Action{Op: OpMeta, Path: s.Path, Src: s, Dst: d, Why: ChangeXattr})
}

// xattrDigest returns the BLAKE3 hash of attrs (sorted by name, as
// Xattrs returns them): what the manifest records of them, so that an
// attribute changed on the mirror is a change made outside the tool.
func xattrDigest(attrs []transport.Xattr) transport.Sum {
	h := blake3.New()
	for _, a := range attrs {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(a.Value)))
		h.Write([]byte(a.Name))
		h.Write([]byte{0})
		h.Write(n[:])
		h.Write(a.Value)
	}
	var sum transport.Sum
	h.Sum(sum[:0])
	return sum
}

func filterXattrs(attrs []transport.Xattr, want func(string) bool) []transport.Xattr {
	var out []transport.Xattr
	for _, a := range attrs {
		if want(a.Name) {
			out = append(out, a)
		}
	}
	return out
}

// setXattrs gives destination entry name (the real one or its temporary)
// the attributes planned for source path p.
func (ap *applier) setXattrs(name, p string) error {
	if !ap.p.Options.Xattrs {
		return nil
	}
	dx, ok := ap.dst.(transport.Xattrer)
	if !ok {
		return nil // said in the plan's notes
	}
	return dx.SetXattrs(name, ap.p.xattrs[p], xattrsWanted(ap.p.Options.Owners))
}

// setNewXattrs gives a new temporary file the attributes of source path p;
// one without any has none to set (a fresh file has none but what its
// directory's default ACL gives, as on the source).
func (ap *applier) setNewXattrs(tmp, p string) error {
	if len(ap.p.xattrs[p]) == 0 {
		return nil
	}
	return ap.setXattrs(tmp, p)
}
