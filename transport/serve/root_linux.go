package serve

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// root is the copy's root directory, opened once. Every name is resolved
// below it by the kernel: openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
// (Linux 5.6+), so no element of a name may be a symlink, "..", or an
// absolute path; where openat2 is missing, the name is walked element by
// element with openat(O_NOFOLLOW) from the root's descriptor, which
// refuses the same symlinks. Not os.Root: it follows symlinks that stay
// inside the root, and a name here must not go through any.
type root struct {
	fd      int
	path    string      // canonical path, for Run and messages
	noOpen2 atomic.Bool // openat2 is missing: walk instead
}

// openRoot opens dir, following symlinks in dir itself (the operator named
// it), and makes sure it is a directory.
func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r := &root{fd: fd, path: canonical(fd, dir)}
	r.noOpen2.Store(forceWalk)
	return r, nil
}

// forceWalk makes new roots walk names instead of using openat2 (tests of
// the fallback).
var forceWalk bool

// canonical returns the path the kernel has for fd, else dir.
func canonical(fd int, dir string) string {
	buf := make([]byte, 4096)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), buf)
	if err != nil || n == len(buf) || !strings.HasPrefix(string(buf[:n]), "/") {
		return path.Clean(dir)
	}
	return string(buf[:n])
}

// Mode names how names are resolved, for the hello.
func (r *root) mode() string {
	if r.noOpen2.Load() {
		return "openat"
	}
	return "openat2"
}

const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// open opens the valid name below the root with flags (O_CLOEXEC and
// O_NOFOLLOW are added). No element of name may be a symlink: that gives
// ELOOP, also where a directory was asked for and the last element is a
// symlink (the kernel says ENOTDIR).
func (r *root) open(name string, flags int, mode uint32) (int, error) {
	fd, err := r.resolve(name, flags, mode)
	if err == unix.ENOTDIR && flags&unix.O_DIRECTORY != 0 && r.isSymlink(name) {
		err = unix.ELOOP
	}
	return fd, err
}

// isSymlink reports whether name itself is a symlink.
func (r *root) isSymlink(name string) bool {
	fd, err := r.resolve(name, unix.O_PATH, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// resolve is open without the ELOOP for a last element.
func (r *root) resolve(name string, flags int, mode uint32) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if !r.noOpen2.Load() {
		how := unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode), Resolve: resolveFlags}
		for try := 0; ; try++ {
			fd, err := unix.Openat2(r.fd, name, &how)
			switch {
			case err == unix.EAGAIN && try < 8: // a concurrent rename; the kernel asks to retry
				continue
			case err == unix.ENOSYS:
				r.noOpen2.Store(true)
			default:
				return fd, err
			}
			break
		}
	}
	return r.walk(name, flags, mode)
}

// walk is open without openat2: each directory of name is opened with
// O_PATH|O_DIRECTORY|O_NOFOLLOW from the one before, then the last element
// with flags.
func (r *root) walk(name string, flags int, mode uint32) (int, error) {
	if name == "." {
		return unix.Openat(r.fd, ".", flags, mode)
	}
	dirfd := r.fd
	defer func() {
		if dirfd != r.fd {
			unix.Close(dirfd)
		}
	}()
	elems := strings.Split(name, "/")
	for _, e := range elems[:len(elems)-1] {
		fd, err := unix.Openat(dirfd, e, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if err == unix.ENOTDIR {
				err = symlinkOrNotDir(dirfd, e)
			}
			return -1, err
		}
		if dirfd != r.fd {
			unix.Close(dirfd)
		}
		dirfd = fd
	}
	return unix.Openat(dirfd, elems[len(elems)-1], flags, mode)
}

// symlinkOrNotDir tells ELOOP (e is a symlink, as openat2 says it) from
// ENOTDIR.
func symlinkOrNotDir(dirfd int, e string) error {
	var st unix.Stat_t
	if unix.Fstatat(dirfd, e, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.ELOOP
	}
	return unix.ENOTDIR
}

// parent opens the directory holding name (O_PATH: for the *at calls
// only) and returns it with name's last element; for "." it is the root
// itself with ".". The caller closes the descriptor.
func (r *root) parent(name string) (int, string, error) {
	if name == "." {
		fd, err := unix.Dup(r.fd)
		return fd, ".", err
	}
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	if dir == "" {
		dir = "."
	}
	fd, err := r.open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	return fd, base, err
}

// errNotRegular reports an opened entry that is not the regular file the
// request needs (a FIFO, a device, a socket swapped in).
var errNotRegular = errors.New("not a regular file")

// start opens the root; the umask is cleared so that modes are what the
// client asked for exactly.
func start(dir string) (*root, error) {
	unix.Umask(0)
	return openRoot(dir)
}

func (r *root) close() { unix.Close(r.fd) }
