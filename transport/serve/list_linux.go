package serve

import (
	"io/fs"
	"path"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// itemBatch is the size from which a listing's entries are sent as one
// RepItem frame.
const itemBatch = 128 << 10

// lister streams entries to the client in batches.
type lister struct {
	s  *server
	id uint32
	e  wire.Enc
}

func (l *lister) add(i wire.Info) error {
	i.Encode(&l.e)
	if len(l.e.B) < itemBatch {
		return nil
	}
	return l.flush()
}

func (l *lister) flush() error {
	if len(l.e.B) == 0 {
		return nil
	}
	err := l.s.w.Send(l.id, wire.RepItem, l.e.B)
	l.e.B = l.e.B[:0]
	return err
}

// readNames returns the names in directory fd, sorted, without . and ..
func readNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	slices.Sort(names)
	return names, nil
}

// readDir streams the entries of a directory, each as lstat sees it, with
// its base name; entries gone between reading the directory and stat are
// left out.
func (s *server) readDir(id uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	fd, err := s.root.open(n, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return nil, err
	}
	l := &lister{s: s, id: id}
	for _, base := range names {
		var st unix.Stat_t
		err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "lstat", Path: path.Join(n, base), Err: err}
		}
		if err := l.add(info(base, &st)); err != nil {
			return nil, err
		}
	}
	return nil, l.flush()
}

// listTree streams everything below a directory in walk order: depth
// first, each directory's entries sorted by name, with symlinks' targets.
// Each directory is opened from its parent's descriptor with O_NOFOLLOW,
// so the walk never leaves the tree; any part that cannot be read fails
// the listing.
func (s *server) listTree(id uint32, d *wire.Dec) ([]byte, error) {
	n, err := name(d)
	if err != nil {
		return nil, err
	}
	fd, err := s.root.open(n, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	l := &lister{s: s, id: id}
	if err := l.walk(fd, n); err != nil {
		return nil, err
	}
	return nil, l.flush()
}

// walk lists directory fd (named dir) and closes it.
func (l *lister) walk(fd int, dir string) error {
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return &fs.PathError{Op: "readdir", Path: dir, Err: err}
	}
	for _, base := range names {
		p := path.Join(dir, base)
		var st unix.Stat_t
		err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		i := info(p, &st)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if i.Link, err = readlinkat(fd, base); err != nil {
				return &fs.PathError{Op: "readlink", Path: p, Err: err}
			}
		case unix.S_IFDIR:
			if err := l.add(i); err != nil {
				return err
			}
			sub, err := unix.Openat(fd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return &fs.PathError{Op: "opendir", Path: p, Err: err}
			}
			if err := l.walk(sub, p); err != nil {
				return err
			}
			continue
		}
		if err := l.add(i); err != nil {
			return err
		}
	}
	return nil
}
