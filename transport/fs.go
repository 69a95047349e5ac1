// Package transport gives the mirror engine one view of a directory tree,
// wherever it lives: on this machine (Local) or on another host over SSH and
// SFTP. The engine never touches paths outside an FS.
//
// The core interface, FS, is small; capabilities that only some endpoints
// have (hashing next to the data, hard links, running commands on the host)
// are separate small interfaces, each with a helper function in this package
// that uses the capability when present and falls back to the core methods
// otherwise — the way io/fs does it.
package transport

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// FileInfo describes one entry of a tree, as lstat sees it: symlinks are
// never followed.
type FileInfo struct {
	Name    string      // base name; "." for the root
	Mode    fs.FileMode // type bits (fs.ModeDir, fs.ModeSymlink, ...) and permission bits
	Size    int64       // bytes for regular files; unspecified for others
	ModTime time.Time   // modification time, nanoseconds where the endpoint has them
	UID     int         // owner, -1 when the endpoint does not say
	GID     int         // group, -1 when the endpoint does not say
	// Nlink is the number of hard links, 0 when the endpoint does not say
	// (SFTP); entries with the same Dev and Ino are one file.
	Nlink    uint64
	Dev, Ino uint64
	Rdev     uint64 // the device number of a device node
}

// IsDir reports whether the entry is a directory.
func (fi FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// IsRegular reports whether the entry is a regular file.
func (fi FileInfo) IsRegular() bool { return fi.Mode.IsRegular() }

// IsSymlink reports whether the entry is a symbolic link.
func (fi FileInfo) IsSymlink() bool { return fi.Mode&fs.ModeSymlink != 0 }

// FS is a directory tree rooted at an endpoint path.
//
// Names: every name is a slash-separated path relative to the root that
// satisfies ValidName ("." is the root itself): its elements are bytes, as
// Linux names are, none empty, "." or "..", none holding NUL; they need not
// be UTF-8 (fs.ValidPath would refuse Latin-1 "caf\xe9", which rsync and
// this tool mirror exactly). Implementations reject any
// other name with fs.ErrInvalid, and never let a name, a symlink or a name
// sent by a peer reach outside the root. No method follows a symlink in the
// last element of a name, except Open and Chmod, which the engine only calls
// on entries it has just seen to be regular files or directories.
//
// Errors: every error is an *fs.PathError whose Path is the name as given
// (never an absolute path of the host), and whose Err can be tested with
// errors.Is against fs.ErrNotExist, fs.ErrExist, fs.ErrPermission and
// fs.ErrInvalid where those apply. A broken connection is reported as an
// error wrapping ErrConnLost.
//
// Concurrency: all methods are safe for concurrent use by several
// goroutines; an FS over SSH pipelines concurrent requests on one connection.
type FS interface {
	// String names the endpoint for messages, e.g. "uhane:/local/data/elixir".
	String() string

	// Lstat returns the entry at name without following a final symlink.
	Lstat(name string) (FileInfo, error)
	// ReadDir returns the entries of directory name, sorted by name,
	// without "." and "..", each as Lstat would return it.
	ReadDir(name string) ([]FileInfo, error)
	// Readlink returns the target of symlink name, unchanged.
	Readlink(name string) (string, error)
	// Open opens regular file name for reading. The reader may implement
	// io.WriterTo and io.ReaderAt for faster transfers.
	Open(name string) (io.ReadCloser, error)

	// Create creates a new regular file name, failing with fs.ErrExist if
	// anything exists there, with permission bits perm exactly (no umask
	// applies; set-id and sticky bits are not set). The engine writes
	// to a temporary name and renames it over the real one (Rename).
	Create(name string, perm fs.FileMode) (WriteFile, error)
	// Mkdir creates directory name; its parent must exist.
	Mkdir(name string, perm fs.FileMode) error
	// Symlink creates newname as a symlink pointing at target, unchanged.
	Symlink(target, newname string) error
	// Rename renames oldname to newname, atomically replacing newname if it
	// exists and is not a directory (POSIX rename semantics).
	Rename(oldname, newname string) error
	// Remove removes a file, a symlink or an empty directory.
	Remove(name string) error
	// Chmod sets the permission bits of name.
	Chmod(name string, mode fs.FileMode) error
	// Chtimes sets the modification (and access) time of name without
	// following a final symlink where the endpoint can; an endpoint that
	// cannot set a symlink's time returns nil for symlinks and leaves it.
	Chtimes(name string, mtime time.Time) error

	// Close releases the FS; the connection of a remote FS is shared and
	// closed when its last user closes.
	Close() error
}

// WriteFile is a file opened for writing by FS.Create. It may implement
// io.ReaderFrom for faster (concurrent) transfers.
type WriteFile interface {
	io.Writer
	// Sync commits the written data to stable storage.
	Sync() error
	io.Closer
}

// ErrConnLost reports that the connection to a remote endpoint broke.
var ErrConnLost = errors.New("connection lost")

// Linker is an FS that can make hard links; the engine uses it to keep a
// replaced file's old content in the trash without a moment in which the
// real name is missing.
type Linker interface {
	Link(oldname, newname string) error
}

// Lchowner is an FS that can set the owner of an entry without following a
// final symlink.
type Lchowner interface {
	Lchown(name string, uid, gid int) error
}

// Hasher is an FS that can hash a file next to the data (a helper program on
// the remote host), sending back 32 bytes instead of the whole file.
type Hasher interface {
	HashFile(name string) (Sum, error)
}

// Runner is an FS whose host can run commands, for the consistency hooks.
// The command runs in a shell on the endpoint's host with the root as its
// working directory; when ctx ends first the command is killed and Run
// returns ctx's error.
type Runner interface {
	Run(ctx context.Context, command string, stdout, stderr io.Writer) error
}
