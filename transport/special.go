package transport

import (
	"fmt"
	"io/fs"
	"path"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mknoder is an FS that can make special files: FIFOs, sockets (a socket
// inode, as rsync recreates them; nothing listens on it) and, with the
// privilege, device nodes.
type Mknoder interface {
	// Mknod makes name, which must not exist, of type and permission
	// mode (fs.ModeNamedPipe, fs.ModeSocket, fs.ModeDevice with or
	// without fs.ModeCharDevice); dev is the device number of a node.
	Mknod(name string, mode fs.FileMode, dev uint64) error
}

var _ Mknoder = (*Local)(nil)

// Mknod makes the node in its parent directory, opened under the root
// without following symlinks, so the name cannot reach outside it.
func (l *Local) Mknod(name string, mode fs.FileMode, dev uint64) error {
	if err := check("mknod", name); err != nil {
		return err
	}
	kind, err := nodeKind(mode)
	if err != nil {
		return &fs.PathError{Op: "mknod", Path: name, Err: err}
	}
	dir, err := l.openDir(path.Dir(name))
	if err != nil {
		return err
	}
	defer dir.Close()
	// The umask does not apply: the bits are set exactly by the caller's
	// Chmod afterwards; create owner-only so nothing else opens it first.
	err = unix.Mknodat(int(dir.Fd()), path.Base(name), kind|0o600, int(dev))
	if err != nil {
		return &fs.PathError{Op: "mknod", Path: name, Err: err}
	}
	return nil
}

// nodeKind returns the S_IF* type of a special file's mode.
func nodeKind(mode fs.FileMode) (uint32, error) {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return syscall.S_IFIFO, nil
	case mode&fs.ModeSocket != 0:
		return syscall.S_IFSOCK, nil
	case mode&fs.ModeCharDevice != 0:
		return syscall.S_IFCHR, nil
	case mode&fs.ModeDevice != 0:
		return syscall.S_IFBLK, nil
	}
	return 0, fmt.Errorf("not a special file type (%v): %w", mode.Type(), fs.ErrInvalid)
}
