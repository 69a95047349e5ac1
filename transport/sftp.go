package transport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/pkg/sftp"
)

// sftpFS is the FS of a remote endpoint, over SFTP on a shared SSH
// connection. Every name is checked with ValidName and joined under the
// root; no operation goes through a symlink in a directory of the path
// (the directories are checked with REALPATH and remembered, see
// dirCache), and operations that the server would apply through a final
// symlink (opendir, open, setstat) check the final element first.
//
// Times: SFTP version 3 carries whole seconds only, so ModTime has no
// sub-second part and Chtimes truncates to the second (TimePrecision
// reports time.Second). SFTP's SETSTAT follows symlinks, so Chtimes and
// Lchown of a symlink run "touch -h" and "chown -h" over SSH instead (a
// session per call); without touch -h on the host a symlink's time is left
// alone (nil), without chown -h Lchown fails with ErrNotSupported.
//
// ReadDir and every other method may be called from many goroutines at
// once; their requests are pipelined on the one SFTP session.
type sftpFS struct {
	c      *sshConn
	d      *Dialer
	label  string // endpoint text
	root   string // canonical absolute path of the root
	closed atomic.Bool
}

var (
	_ FS              = (*sftpFS)(nil)
	_ Linker          = (*sftpFS)(nil)
	_ Lchowner        = (*sftpFS)(nil)
	_ Hasher          = (*sftpFS)(nil)
	_ BatchHasher     = (*sftpFS)(nil)
	_ Runner          = (*sftpFS)(nil)
	_ TimePrecisioner = (*sftpFS)(nil)
)

// newSFTPFS opens the root of ep on c: it must be a directory; symlinks in
// the root path itself are resolved once, here.
func newSFTPFS(ctx context.Context, d *Dialer, c *sshConn, ep table.Endpoint) (*sftpFS, error) {
	f := &sftpFS{c: c, d: d, label: ep.String()}
	type res struct {
		root string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		root, err := c.sftp.RealPath(ep.Path + "/.")
		if err == nil {
			var fi os.FileInfo
			if fi, err = c.sftp.Stat(root); err == nil && !fi.IsDir() {
				err = fmt.Errorf("not a directory")
			}
		}
		ch <- res{root, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			e := f.pathErr("open", ".", r.err)
			return nil, fmt.Errorf("%s: %w", ep, e)
		}
		f.root = path.Clean(r.root)
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *sftpFS) String() string { return f.label }

// TimePrecision is a whole second: SFTP v3 carries no sub-second times.
func (f *sftpFS) TimePrecision() time.Duration { return time.Second }

func (f *sftpFS) Close() error {
	if f.closed.Swap(true) {
		return nil
	}
	f.d.release(f.c)
	return nil
}

// abs returns the absolute remote path of the valid name.
func (f *sftpFS) abs(name string) string {
	if name == "." {
		return f.root
	}
	return path.Join(f.root, name)
}

// begin validates name and that the FS is open.
func (f *sftpFS) begin(op, name string) error {
	if !ValidName(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if f.closed.Load() {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrClosed}
	}
	return nil
}

// checkDir makes sure directory dir (a valid name) exists and no element
// of its path is a symlink: REALPATH of "dir/." must give dir back.
func (f *sftpFS) checkDir(op, dir string) error {
	abs := f.abs(dir)
	if dir == "." || f.c.dirs.has(abs) {
		return nil
	}
	real, err := f.c.sftp.RealPath(abs + "/.")
	if err != nil {
		return f.pathErr(op, dir, err)
	}
	if path.Clean(real) != abs {
		return &fs.PathError{Op: op, Path: dir, Err: errEscape}
	}
	f.c.dirs.add(abs)
	return nil
}

// parent checks the directory that holds name.
func (f *sftpFS) parent(op, name string) error {
	if err := f.begin(op, name); err != nil {
		return err
	}
	if name == "." {
		return nil
	}
	if err := f.checkDir(op, path.Dir(name)); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Path = name
		}
		return err
	}
	return nil
}

// entry is parent for operations that create, replace or remove the entry
// name itself, which the root cannot be.
func (f *sftpFS) entry(op, name string) error {
	if name == "." {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return f.parent(op, name)
}

func (f *sftpFS) info(base string, fi os.FileInfo) FileInfo {
	out := FileInfo{Name: base, Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		out.UID, out.GID = int(st.UID), int(st.GID)
	}
	return out
}

func (f *sftpFS) Lstat(name string) (FileInfo, error) {
	if err := f.parent("lstat", name); err != nil {
		return FileInfo{}, err
	}
	fi, err := f.c.sftp.Lstat(f.abs(name))
	if err != nil {
		return FileInfo{}, f.pathErr("lstat", name, err)
	}
	if fi.IsDir() && name != "." {
		f.c.dirs.add(f.abs(name))
	}
	return f.info(path.Base(name), fi), nil
}

// ReadDir lists directory name with one OPENDIR, READDIRs of about a
// hundred entries each and a CLOSE. Names the server sends are checked to
// be plain base names; the listing fails otherwise.
func (f *sftpFS) ReadDir(name string) ([]FileInfo, error) {
	if err := f.begin("readdir", name); err != nil {
		return nil, err
	}
	if err := f.checkDir("readdir", name); err != nil {
		return nil, err
	}
	entries, err := f.c.sftp.ReadDir(f.abs(name))
	if err != nil {
		return nil, f.pathErr("readdir", name, err)
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if !ValidElem(n) {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fmt.Errorf("%w: %q", errBadName, n)}
		}
		fi := f.info(n, e)
		if fi.IsDir() {
			f.c.dirs.add(path.Join(f.abs(name), n))
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *sftpFS) Readlink(name string) (string, error) {
	if err := f.parent("readlink", name); err != nil {
		return "", err
	}
	t, err := f.c.sftp.ReadLink(f.abs(name))
	if err != nil {
		return "", f.pathErr("readlink", name, err)
	}
	return t, nil
}

func (f *sftpFS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.entry("mkdir", name); err != nil {
		return err
	}
	abs := f.abs(name)
	if err := f.c.sftp.Mkdir(abs); err != nil {
		return f.pathErr("mkdir", name, f.existErr(abs, err))
	}
	f.c.dirs.add(abs)
	if p := perm.Perm(); p != 0o777 {
		// OpenSSH creates with 0777 less its umask; set what was asked.
		if err := f.c.sftp.Chmod(abs, toSFTPMode(perm)); err != nil {
			return f.pathErr("mkdir", name, err)
		}
	}
	return nil
}

// existErr turns the generic failure of a create-like request into
// fs.ErrExist when something exists at abs now.
func (f *sftpFS) existErr(abs string, err error) error {
	if !isFailure(err) {
		return err
	}
	if _, serr := f.c.sftp.Lstat(abs); serr == nil {
		return &kindError{fs.ErrExist, err}
	}
	return err
}

func (f *sftpFS) Symlink(target, newname string) error {
	if err := f.entry("symlink", newname); err != nil {
		return err
	}
	abs := f.abs(newname)
	f.c.dirs.drop(abs)
	if err := f.c.sftp.Symlink(target, abs); err != nil {
		return f.pathErr("symlink", newname, f.existErr(abs, err))
	}
	return nil
}

// Rename uses posix-rename@openssh.com, which replaces newname atomically.
// A server without it gets a plain RENAME, which fails when newname exists.
func (f *sftpFS) Rename(oldname, newname string) error {
	if err := f.entry("rename", oldname); err != nil {
		return err
	}
	if err := f.entry("rename", newname); err != nil {
		return err
	}
	oa, na := f.abs(oldname), f.abs(newname)
	f.c.dirs.drop(oa)
	f.c.dirs.drop(na)
	var err error
	if _, ok := f.c.sftp.HasExtension("posix-rename@openssh.com"); ok {
		err = f.c.sftp.PosixRename(oa, na)
	} else {
		err = f.c.sftp.Rename(oa, na)
	}
	f.c.tmp.remove(oa)
	f.c.dirs.drop(oa) // again: a concurrent ReadDir may have added it back
	f.c.dirs.drop(na)
	if err != nil {
		return f.pathErr("rename", oldname, err)
	}
	return nil
}

// Remove tries REMOVE (unlink, never following a symlink), then RMDIR.
func (f *sftpFS) Remove(name string) error {
	if err := f.entry("remove", name); err != nil {
		return err
	}
	abs := f.abs(name)
	f.c.tmp.remove(abs)
	errF := f.c.sftp.Remove(abs)
	if errF == nil {
		return nil
	}
	if errors.Is(errF, fs.ErrNotExist) || !isFailureOrPerm(errF) {
		return f.pathErr("remove", name, errF)
	}
	errD := f.c.sftp.RemoveDirectory(abs)
	if errD == nil {
		f.c.dirs.drop(abs)
		return nil
	}
	if fi, err := f.c.sftp.Lstat(abs); err == nil && fi.IsDir() {
		return f.pathErr("remove", name, errD)
	}
	return f.pathErr("remove", name, errF)
}

func isFailureOrPerm(err error) bool {
	return isFailure(err) || errors.Is(err, fs.ErrPermission)
}

func (f *sftpFS) Link(oldname, newname string) error {
	if err := f.entry("link", oldname); err != nil {
		return err
	}
	if err := f.entry("link", newname); err != nil {
		return err
	}
	if _, ok := f.c.sftp.HasExtension("hardlink@openssh.com"); !ok {
		return &fs.PathError{Op: "link", Path: newname, Err: ErrNotSupported}
	}
	na := f.abs(newname)
	if err := f.c.sftp.Link(f.abs(oldname), na); err != nil {
		return f.pathErr("link", newname, f.existErr(na, err))
	}
	return nil
}

// toSFTPMode keeps the permission, setuid, setgid and sticky bits.
func toSFTPMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
