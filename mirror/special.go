package mirror

import (
	"io/fs"

	"github.com/mirrorfence/mirrorfence/transport"
)

// makesSpecial reports whether the plan recreates special file s: FIFOs
// and sockets wherever the destination can make them, device nodes only
// as root (rsync -D does the same).
func (p *Plan) makesSpecial(s *Entry) bool {
	if !p.Options.Specials {
		return false
	}
	if s.Mode&fs.ModeDevice != 0 {
		return p.Options.Owners
	}
	return s.Mode&(fs.ModeNamedPipe|fs.ModeSocket) != 0
}

// canMknod reports whether dst can make special files.
func canMknod(dst transport.FS) bool {
	_, ok := dst.(transport.Mknoder)
	return ok
}

// special makes a special file under a temporary name, gives it owner,
// mode and mtime, and renames it over the real name (the old entry kept in
// the trash). It is never opened.
func (ap *applier) special(a *Action) error {
	tmp := ap.tempName(a.Path)
	if err := ap.dst.(transport.Mknoder).Mknod(tmp, a.Src.Mode, a.Src.Rdev); err != nil {
		return err
	}
	s := *a.Src
	why := ChangePerm | ChangeTime
	if ap.p.Options.Owners {
		why |= ChangeOwner
	}
	if err := ap.setMeta(tmp, &s, why); err != nil {
		_ = ap.dst.Remove(tmp)
		return err
	}
	if err := ap.install(tmp, a); err != nil {
		return err
	}
	ap.mu.Lock()
	ap.res.Specials++
	ap.mu.Unlock()
	return nil
}
