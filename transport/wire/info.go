package wire

import (
	"runtime/debug"
	"sync"
)

// Info is one entry as the helper lstat'ed it. Mode holds io/fs.FileMode
// bits; Path is relative to the root in tree listings and the base name in
// directory listings; Link is the target of a symlink in tree listings.
type Info struct {
	Path      string
	Mode      uint32
	Size      int64
	Sec, Nsec int64
	UID, GID  int64
	Link      string
	// Nlink, Dev and Ino tell hard links apart (entries with the same
	// Dev and Ino are one file); Rdev is a device node's number.
	Nlink, Dev, Ino, Rdev uint64
}

// Encode appends i.
func (i *Info) Encode(e *Enc) {
	e.String(i.Path)
	e.Uint(uint64(i.Mode))
	e.Int(i.Size)
	e.Int(i.Sec)
	e.Int(i.Nsec)
	e.Int(i.UID)
	e.Int(i.GID)
	e.String(i.Link)
	e.Uint(i.Nlink)
	e.Uint(i.Dev)
	e.Uint(i.Ino)
	e.Uint(i.Rdev)
}

// DecodeInfo reads an Info.
func DecodeInfo(d *Dec) Info {
	return Info{Path: d.String(), Mode: uint32(d.Uint()), Size: d.Int(), Sec: d.Int(), Nsec: d.Int(),
		UID: d.Int(), GID: d.Int(), Link: d.String(), Nlink: d.Uint(), Dev: d.Uint(), Ino: d.Uint(), Rdev: d.Uint()}
}

var (
	programOnce sync.Once
	program     string
)

// Program names the build of this binary: the module version and, when
// the build recorded them, the VCS revision and whether the tree was
// modified. A helper found on a remote host is used only when it names
// the same build (and speaks the same Version).
func Program() string {
	programOnce.Do(func() {
		program = "unknown"
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			return
		}
		program = bi.Main.Version
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				program += "+" + s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				program += "-dirty"
			}
		}
	})
	return program
}
