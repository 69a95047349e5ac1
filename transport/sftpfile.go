package transport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
)

// Open opens regular file name for reading. A symlink is not followed: it
// gives an error wrapping syscall.ELOOP, as for Local. The reader
// implements io.WriterTo (up to 64 concurrent reads in flight) and
// io.ReaderAt.
func (f *sftpFS) Open(name string) (io.ReadCloser, error) {
	if err := f.parent("open", name); err != nil {
		return nil, err
	}
	abs := f.abs(name)
	type stat struct {
		fi  os.FileInfo
		err error
	}
	lst := make(chan stat, 1)
	go func() { // in flight together with the OPEN: one round trip for both
		fi, err := f.c.sftp.Lstat(abs)
		lst <- stat{fi, err}
	}()
	file, err := f.c.sftp.OpenFile(abs, os.O_RDONLY)
	st := <-lst
	if err != nil {
		return nil, f.pathErr("open", name, err)
	}
	if st.err == nil && st.fi.Mode()&fs.ModeSymlink != 0 {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errLoop}
	}
	return &sftpReader{f: file, fs: f, name: name}, nil
}

// sftpReader is an open remote file; its errors are the FS's.
type sftpReader struct {
	f    *sftp.File
	fs   *sftpFS
	name string
}

func (r *sftpReader) err(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return r.fs.pathErr(op, r.name, err)
}

func (r *sftpReader) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	return n, r.err("read", err)
}

func (r *sftpReader) ReadAt(b []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(b, off)
	return n, r.err("read", err)
}

// WriteTo copies the file to w with concurrent reads. Errors of w are
// returned as they are.
func (r *sftpReader) WriteTo(w io.Writer) (int64, error) {
	tw := &trackWriter{w: w}
	n, err := r.f.WriteTo(tw)
	if err != nil && tw.err != nil && errors.Is(err, tw.err) {
		return n, err
	}
	return n, r.err("read", err)
}

func (r *sftpReader) Close() error {
	return r.err("close", r.f.Close())
}

// trackWriter remembers the error of the writer it wraps, so that it is
// not mistaken for one of the connection.
type trackWriter struct {
	w   io.Writer
	err error
}

func (t *trackWriter) Write(b []byte) (int, error) {
	n, err := t.w.Write(b)
	if err != nil {
		t.err = err
	}
	return n, err
}

// trackReader remembers the error of the reader it wraps.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// Create creates name exclusively (O_EXCL, so an existing entry, a symlink
// too, makes it fail with fs.ErrExist) and sets its permission bits to
// perm with FSETSTAT before returning. The WriteFile implements
// io.ReaderFrom with up to 64 concurrent writes in flight; after an error
// the file may have holes, so it must be removed, as the engine does with
// its temporary files.
func (f *sftpFS) Create(name string, perm fs.FileMode) (WriteFile, error) {
	if err := f.entry("create", name); err != nil {
		return nil, err
	}
	abs := f.abs(name)
	file, err := f.c.sftp.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, f.pathErr("create", name, f.existErr(abs, err))
	}
	f.c.tmp.add(abs)
	if err := file.Chmod(toSFTPMode(perm)); err != nil {
		file.Close()
		_ = f.c.sftp.Remove(abs)
		f.c.tmp.remove(abs)
		return nil, f.pathErr("create", name, err)
	}
	return &sftpWriter{f: file, fs: f, name: name}, nil
}

// sftpWriter is a remote file open for writing.
type sftpWriter struct {
	f    *sftp.File
	fs   *sftpFS
	name string
}

func (w *sftpWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	if err != nil {
		return n, w.fs.pathErr("write", w.name, w.fs.diskFull(w.name, err))
	}
	return n, nil
}

// diskFull names a full disk: SFTP v3 reports ENOSPC as a bare "Failure",
// so on that status the free space of the file system is asked for
// (statvfs@openssh.com), and an empty one makes the error ENOSPC.
func (f *sftpFS) diskFull(name string, err error) error {
	var se *sftp.StatusError
	if !errors.As(err, &se) || se.Code != fxFailure {
		return err
	}
	st, serr := f.c.sftp.StatVFS(f.abs(path.Dir(name)))
	if serr != nil || (st.Bavail*st.Frsize >= 1<<20 && st.Favail > 0) {
		return err // room left: some other failure
	}
	return &kindError{kind: syscall.ENOSPC, err: fmt.Errorf("%w (%s)", syscall.ENOSPC, err)}
}

// ReadFrom copies r to the file with concurrent writes. Errors of r are
// returned as they are.
func (w *sftpWriter) ReadFrom(r io.Reader) (int64, error) {
	tr := &trackReader{r: r}
	n, err := w.f.ReadFromWithConcurrency(tr, 64)
	if err != nil && tr.err != nil && errors.Is(err, tr.err) {
		return n, err
	}
	if err != nil {
		return n, w.fs.pathErr("write", w.name, w.fs.diskFull(w.name, err))
	}
	return n, nil
}

// WriteAt writes b at offset off; what lies before it and was never
// written stays a hole where the server's file system has them.
func (w *sftpWriter) WriteAt(b []byte, off int64) (int, error) {
	n, err := w.f.WriteAt(b, off)
	if err != nil {
		return n, w.fs.pathErr("write", w.name, w.fs.diskFull(w.name, err))
	}
	return n, nil
}

// Truncate sets the file's size (SSH_FXP_FSETSTAT), extending it with a
// hole when it grows.
func (w *sftpWriter) Truncate(size int64) error {
	return w.fs.pathErr("truncate", w.name, w.f.Truncate(size))
}

// Sync uses fsync@openssh.com; a server without it gets nothing to do.
func (w *sftpWriter) Sync() error {
	err := w.f.Sync()
	var se *sftp.StatusError
	if errors.As(err, &se) && se.Code == fxOpUnsupported {
		return nil
	}
	return w.fs.pathErr("sync", w.name, err)
}

func (w *sftpWriter) Close() error {
	err := w.f.Close()
	if err != nil {
		err = w.fs.diskFull(w.name, err)
	}
	return w.fs.pathErr("close", w.name, err)
}

// Chmod sets the mode of name; a symlink is followed, but only to a target
// inside the root (like Local).
func (f *sftpFS) Chmod(name string, mode fs.FileMode) error {
	p, err := f.followed("chmod", name)
	if err != nil {
		return err
	}
	return f.pathErr("chmod", name, f.c.sftp.Chmod(p, toSFTPMode(mode)))
}

// followed returns the path to apply a following operation to: the file
// itself when this connection created it, else its real path, which must
// lie inside the root.
func (f *sftpFS) followed(op, name string) (string, error) {
	if err := f.begin(op, name); err != nil {
		return "", err
	}
	abs := f.abs(name)
	if f.c.tmp.has(abs) {
		return abs, nil
	}
	real, err := f.c.sftp.RealPath(abs)
	if err != nil {
		return "", f.pathErr(op, name, err)
	}
	real = path.Clean(real)
	if real != f.root && !strings.HasPrefix(real, f.root+"/") && f.root != "/" {
		return "", &fs.PathError{Op: op, Path: name, Err: errEscape}
	}
	return real, nil
}

// unfollowed returns the path of name for a SETSTAT that must not follow
// a final symlink, and whether name is a symlink (then there is nothing
// the server can do without following it).
func (f *sftpFS) unfollowed(op, name string) (string, bool, error) {
	if err := f.parent(op, name); err != nil {
		return "", false, err
	}
	abs := f.abs(name)
	if f.c.tmp.has(abs) {
		return abs, false, nil
	}
	fi, err := f.c.sftp.Lstat(abs)
	if err != nil {
		return "", false, f.pathErr(op, name, err)
	}
	return abs, fi.Mode()&fs.ModeSymlink != 0, nil
}

// Chtimes sets access and modification time of name to mtime, truncated
// to the second (SFTP v3). SFTP's SETSTAT would follow a symlink, so a
// symlink's own time is set with "touch -h" over SSH (one session per
// call, nanoseconds kept) when the host has it, and left alone otherwise
// (nil is returned then, as the contract allows).
func (f *sftpFS) Chtimes(name string, mtime time.Time) error {
	abs, link, err := f.unfollowed("chtimes", name)
	switch {
	case err != nil:
		return err
	case link:
		return f.symlinkTimes(name, mtime)
	case mtime.Unix() < 0 || mtime.Unix() > math.MaxUint32:
		// SFTP's times are unsigned 32-bit seconds: set it with touch,
		// or as SFTP wraps it where the host has no touch (the plan then
		// compares it as wrapped, so it is not copied again).
		if f.c.probe(); f.c.touchH {
			return f.symlinkTimes(name, mtime)
		}
	}
	return f.pathErr("chtimes", name, f.c.sftp.Chtimes(abs, mtime, mtime))
}

// Lchown sets the owner of name. SFTP's SETSTAT would follow a symlink, so
// a symlink's owner is set with "chown -h" over SSH (one session per
// call); a host that cannot gives an error wrapping ErrNotSupported.
func (f *sftpFS) Lchown(name string, uid, gid int) error {
	abs, link, err := f.unfollowed("lchown", name)
	if err != nil {
		return err
	}
	if link {
		return f.symlinkOwner(name, uid, gid)
	}
	return f.pathErr("lchown", name, f.c.sftp.Chown(abs, uid, gid))
}
