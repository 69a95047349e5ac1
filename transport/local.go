package transport

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Local is an FS over a directory of this machine. Every access goes
// through an os.Root, so no name and no symlink can reach outside it.
type Local struct {
	dir  string
	root *os.Root
}

// OpenLocal opens the directory dir (an absolute path) as an FS. A missing
// directory is reported with an error wrapping fs.ErrNotExist.
func OpenLocal(dir string) (*Local, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Local{dir: dir, root: root}, nil
}

var (
	_ FS       = (*Local)(nil)
	_ Linker   = (*Local)(nil)
	_ Lchowner = (*Local)(nil)
	_ Runner   = (*Local)(nil)
)

func (l *Local) String() string { return l.dir }

// check rejects names that are not valid relative slash paths, before the
// operating system sees them.
func check(op, name string) error {
	if !ValidName(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

func (l *Local) Lstat(name string) (FileInfo, error) {
	if err := check("lstat", name); err != nil {
		return FileInfo{}, err
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return FileInfo{}, err
	}
	return infoFromOS(fi), nil
}

func infoFromOS(fi fs.FileInfo) FileInfo {
	out := FileInfo{Name: fi.Name(), Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.UID, out.GID = int(st.Uid), int(st.Gid)
		out.Nlink, out.Dev, out.Ino, out.Rdev = uint64(st.Nlink), uint64(st.Dev), st.Ino, uint64(st.Rdev)
	}
	return out
}

func (l *Local) ReadDir(name string) ([]FileInfo, error) {
	if err := check("readdir", name); err != nil {
		return nil, err
	}
	f, err := l.openDir(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.Unwrap(err)}
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the directory was read
			}
			return nil, &fs.PathError{Op: "lstat", Path: path.Join(name, e.Name()), Err: errors.Unwrap(err)}
		}
		out = append(out, infoFromOS(fi))
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// openDir opens directory name without following a final symlink, so a
// directory swapped for a link between Lstat and ReadDir is not read.
func (l *Local) openDir(name string) (*os.File, error) {
	f, err := l.root.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (l *Local) Readlink(name string) (string, error) {
	if err := check("readlink", name); err != nil {
		return "", err
	}
	return l.root.Readlink(name)
}

func (l *Local) Open(name string) (io.ReadCloser, error) {
	if err := check("open", name); err != nil {
		return nil, err
	}
	f, err := l.root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (l *Local) Create(name string, perm fs.FileMode) (WriteFile, error) {
	if err := check("create", name); err != nil {
		return nil, err
	}
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm.Perm())
	if err != nil {
		return nil, err
	}
	// The bits exactly, whatever the umask (fchmod: no name, no race).
	if err := f.Chmod(perm.Perm()); err != nil {
		f.Close()
		_ = l.root.Remove(name)
		return nil, err
	}
	return f, nil
}

func (l *Local) Mkdir(name string, perm fs.FileMode) error {
	if err := check("mkdir", name); err != nil {
		return err
	}
	return l.root.Mkdir(name, perm.Perm())
}

func (l *Local) Symlink(target, newname string) error {
	if err := check("symlink", newname); err != nil {
		return err
	}
	return linkErr("symlink", newname, l.root.Symlink(target, newname))
}

func (l *Local) Rename(oldname, newname string) error {
	if err := check("rename", oldname); err != nil {
		return err
	}
	if err := check("rename", newname); err != nil {
		return err
	}
	return linkErr("rename", oldname, l.root.Rename(oldname, newname))
}

func (l *Local) Link(oldname, newname string) error {
	if err := check("link", oldname); err != nil {
		return err
	}
	if err := check("link", newname); err != nil {
		return err
	}
	return linkErr("link", newname, l.root.Link(oldname, newname))
}

// linkErr turns the *os.LinkError of a two-name operation into the
// *fs.PathError the FS contract promises, naming the given name.
func linkErr(op, name string, err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return &fs.PathError{Op: op, Path: name, Err: le.Err}
	}
	return err
}

func (l *Local) Remove(name string) error {
	if err := check("remove", name); err != nil {
		return err
	}
	return l.root.Remove(name)
}

func (l *Local) Chmod(name string, mode fs.FileMode) error {
	if err := check("chmod", name); err != nil {
		return err
	}
	return l.root.Chmod(name, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

func (l *Local) Lchown(name string, uid, gid int) error {
	if err := check("lchown", name); err != nil {
		return err
	}
	return l.root.Lchown(name, uid, gid)
}

// Chtimes sets the times through the parent directory's descriptor with
// AT_SYMLINK_NOFOLLOW, so a symlink's own time is set and nothing is
// followed.
func (l *Local) Chtimes(name string, mtime time.Time) error {
	if err := check("chtimes", name); err != nil {
		return err
	}
	dir, base := path.Split(name)
	if name == "." {
		dir, base = ".", "."
	}
	if dir == "" {
		dir = "."
	}
	d, err := l.openDir(path.Clean(dir))
	if err != nil {
		return &fs.PathError{Op: "chtimes", Path: name, Err: errors.Unwrap(err)}
	}
	defer d.Close()
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(int(d.Fd()), base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "chtimes", Path: name, Err: err}
	}
	return nil
}

// Run runs command with sh -c in the root directory, standard input
// /dev/null, in a process group of its own: when ctx ends first, the whole
// group gets SIGTERM (children the command started included), then SIGKILL
// if it has not ended two seconds later.
func (l *Local) Run(ctx context.Context, command string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir = l.dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		err := syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(2*time.Second, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		return err
	}
	cmd.WaitDelay = 3 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (l *Local) Close() error { return l.root.Close() }
