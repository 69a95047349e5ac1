package serve

import (
	"io/fs"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// fileMode converts a stat mode to io/fs bits, as package os does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// sysMode converts io/fs permission, set-id and sticky bits to a stat mode.
func sysMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		mode |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		mode |= unix.S_ISVTX
	}
	return mode
}

func info(p string, st *unix.Stat_t) wire.Info {
	return wire.Info{Path: p, Mode: uint32(fileMode(st.Mode)), Size: st.Size,
		Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec, UID: int64(st.Uid), GID: int64(st.Gid),
		Nlink: uint64(st.Nlink), Dev: uint64(st.Dev), Ino: st.Ino, Rdev: uint64(st.Rdev)}
}

// at runs fn on the directory holding name and name's last element.
func (s *server) at(name string, fn func(dirfd int, base string) error) error {
	dirfd, base, err := s.root.parent(name)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	return fn(dirfd, base)
}

func (s *server) lstat(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	err = s.at(n, func(dirfd int, base string) error {
		return unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return nil, err
	}
	var e wire.Enc
	i := info(n, &st)
	i.Encode(&e)
	return e.B, nil
}

func (s *server) readlink(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	var target string
	err = s.at(n, func(dirfd int, base string) error {
		var err error
		target, err = readlinkat(dirfd, base)
		return err
	})
	if err != nil {
		return nil, err
	}
	var e wire.Enc
	e.String(target)
	return e.B, nil
}

// readlinkat reads a symlink's target whatever its length.
func readlinkat(dirfd int, base string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, base, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

func (s *server) mkdir(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := entryName(d)
	perm := fs.FileMode(d.Uint())
	if err != nil {
		return nil, err
	}
	return nil, s.at(n, func(dirfd int, base string) error {
		return unix.Mkdirat(dirfd, base, uint32(perm.Perm()))
	})
}

func (s *server) symlink(_ uint32, d *wire.Dec) ([]byte, error) {
	target := d.String()
	n, err := entryName(d)
	if err != nil {
		return nil, err
	}
	return nil, s.at(n, func(dirfd int, base string) error {
		return unix.Symlinkat(target, dirfd, base)
	})
}

// twoNames runs fn with the directories and last elements of two names.
func (s *server) twoNames(d *wire.Dec, fn func(od int, ob string, nd int, nb string) error) error {
	oldname, err := entryName(d)
	if err != nil {
		return err
	}
	newname, err := entryName(d)
	if err != nil {
		return err
	}
	return s.at(oldname, func(od int, ob string) error {
		return s.at(newname, func(nd int, nb string) error { return fn(od, ob, nd, nb) })
	})
}

func (s *server) rename(_ uint32, d *wire.Dec) ([]byte, error) {
	return nil, s.twoNames(d, func(od int, ob string, nd int, nb string) error {
		return unix.Renameat(od, ob, nd, nb)
	})
}

// link makes a hard link; linkat without AT_SYMLINK_FOLLOW links a
// symlink itself, never its target.
func (s *server) link(_ uint32, d *wire.Dec) ([]byte, error) {
	return nil, s.twoNames(d, func(od int, ob string, nd int, nb string) error {
		return unix.Linkat(od, ob, nd, nb, 0)
	})
}

func (s *server) remove(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := entryName(d)
	if err != nil {
		return nil, err
	}
	return nil, s.at(n, func(dirfd int, base string) error {
		err := unix.Unlinkat(dirfd, base, 0)
		if err == unix.EISDIR {
			err = unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
		}
		return err
	})
}

// chmod sets the mode of what an O_PATH open of name (no symlink
// anywhere) found: fchmodat2 on the descriptor itself, else through its
// /proc/self/fd link, which names that very file.
func (s *server) chmod(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	mode := sysMode(fs.FileMode(d.Uint()))
	if err != nil {
		return nil, err
	}
	fd, err := s.root.open(n, unix.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// A symlink's mode means nothing, and the /proc link below would
	// reach it: refuse it as a symlink anywhere else in a name is.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil, unix.ELOOP
	}
	err = unix.Fchmodat(fd, "", mode, unix.AT_EMPTY_PATH)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS || err == unix.EINVAL {
		err = unix.Fchmodat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), mode, 0)
	}
	return nil, err
}

// chtimes sets both times with AT_SYMLINK_NOFOLLOW: a symlink's own.
func (s *server) chtimes(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	ts := unix.Timespec{Sec: d.Int(), Nsec: d.Int()}
	if err != nil {
		return nil, err
	}
	return nil, s.at(n, func(dirfd int, base string) error {
		return unix.UtimesNanoAt(dirfd, base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	})
}

func (s *server) lchown(_ uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	uid, gid := int(d.Int()), int(d.Int())
	if err != nil {
		return nil, err
	}
	return nil, s.at(n, func(dirfd int, base string) error {
		return unix.Fchownat(dirfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	})
}

func (s *server) syncFS(_ uint32, d *wire.Dec) ([]byte, error) {
	for d.More() {
		n, err := name(d)
		if err != nil {
			return nil, err
		}
		fd, err := s.root.open(n, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return nil, &fs.PathError{Op: "syncfs", Path: n, Err: err}
		}
		err = unix.Syncfs(fd)
		unix.Close(fd)
		if err != nil {
			return nil, &fs.PathError{Op: "syncfs", Path: n, Err: err}
		}
	}
	return nil, nil
}
