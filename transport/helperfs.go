package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport/wire"
)

// helperFS is the FS of a remote endpoint served by "backup serve" on the
// host (see package serve): every name is resolved below the root by the
// host's kernel, no symlink is followed anywhere in a name, and opened
// files are checked to be what the request needs, so a swap during a run
// cannot lead outside the root. Requests of all goroutines are pipelined
// on the one session; times have nanoseconds.
type helperFS struct {
	h      *helperSession
	c      *sshConn
	d      *Dialer
	label  string
	closed atomic.Bool
}

var (
	_ FS          = (*helperFS)(nil)
	_ Linker      = (*helperFS)(nil)
	_ Lchowner    = (*helperFS)(nil)
	_ Hasher      = (*helperFS)(nil)
	_ BatchHasher = (*helperFS)(nil)
	_ BlockHasher = (*helperFS)(nil)
	_ Patcher     = (*helperFS)(nil)
	_ TreeLister  = (*helperFS)(nil)
	_ FSSyncer    = (*helperFS)(nil)
	_ Runner      = (*helperFS)(nil)
)

// newHelperFS starts the helper on c for ep's root. Errors wrap ErrNoHelper
// when the helper could not run; a root it could not open gives an
// *fs.PathError for ".".
func newHelperFS(ctx context.Context, d *Dialer, c *sshConn, ep table.Endpoint, command string) (*helperFS, error) {
	h, err := startHelper(ctx, c, command, ep.Path)
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			err = remoteErr("open", ".", err)
		}
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	return &helperFS{h: h, c: c, d: d, label: ep.String()}, nil
}

func (f *helperFS) String() string { return f.label }

// Mode says how the endpoint is served, for status: the helper and how it
// resolves names.
func (f *helperFS) Mode() string { return "helper (" + f.h.resolve + ")" }

func (f *helperFS) Close() error {
	if f.closed.Swap(true) {
		return nil
	}
	f.h.shut()
	if f.d != nil {
		f.d.release(f.c)
	}
	return nil
}

// remoteErr turns an error of a request into the FS's *fs.PathError: the
// helper's errno (so errors.Is knows fs.ErrNotExist, syscall.ELOOP, ...),
// fs.ErrInvalid, ErrNotSupported, or a lost connection.
func remoteErr(op, name string, err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	if we.Path != "" {
		name = we.Path
	}
	var kind error
	switch we.Kind {
	case wire.KindErrno:
		kind = syscall.Errno(we.Errno)
	case wire.KindInvalid:
		kind = &kindError{fs.ErrInvalid, errors.New(we.Msg)}
	case wire.KindNotSupported:
		kind = &kindError{ErrNotSupported, errors.New(we.Msg)}
	default:
		kind = errors.New(we.Msg)
	}
	return &fs.PathError{Op: op, Path: name, Err: kind}
}

// begin validates name and that the FS is open.
func (f *helperFS) begin(op, name string) error {
	if !ValidName(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if f.closed.Load() {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrClosed}
	}
	return nil
}

// entry is begin for operations on the entry itself, which the root
// cannot be.
func (f *helperFS) entry(op, name string) error {
	if name == "." {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return f.begin(op, name)
}

// req runs one request about name whose payload starts with name.
func (f *helperFS) req(op string, wop byte, name string, rest func(e *wire.Enc)) ([]byte, error) {
	var e wire.Enc
	e.String(name)
	if rest != nil {
		rest(&e)
	}
	out, err := f.h.do(wop, e.B)
	if err != nil {
		return nil, remoteErr(op, name, err)
	}
	return out, nil
}

func fileInfo(i wire.Info, name string) FileInfo {
	return FileInfo{Name: name, Mode: fs.FileMode(i.Mode), Size: i.Size,
		ModTime: time.Unix(i.Sec, i.Nsec), UID: int(i.UID), GID: int(i.GID),
		Nlink: i.Nlink, Dev: i.Dev, Ino: i.Ino, Rdev: i.Rdev}
}

func (f *helperFS) Lstat(name string) (FileInfo, error) {
	if err := f.begin("lstat", name); err != nil {
		return FileInfo{}, err
	}
	out, err := f.req("lstat", wire.OpLstat, name, nil)
	if err != nil {
		return FileInfo{}, err
	}
	d := &wire.Dec{B: out}
	i := wire.DecodeInfo(d)
	if d.Err != nil {
		return FileInfo{}, &fs.PathError{Op: "lstat", Path: name, Err: d.Err}
	}
	return fileInfo(i, path.Base(name)), nil
}

// ReadDir gets the entries streamed, checks that each is a plain base
// name, and sorts them.
func (f *helperFS) ReadDir(name string) ([]FileInfo, error) {
	if err := f.begin("readdir", name); err != nil {
		return nil, err
	}
	var out []FileInfo
	items := func(d *wire.Dec) error {
		for d.More() {
			i := wire.DecodeInfo(d)
			if d.Err != nil || !ValidElem(i.Path) {
				return fmt.Errorf("%w: %q", errBadName, i.Path)
			}
			out = append(out, fileInfo(i, i.Path))
		}
		return d.Err
	}
	var e wire.Enc
	e.String(name)
	if _, err := f.h.start(wire.OpReadDir, items, e.B).wait(); err != nil {
		return nil, remoteErr("readdir", name, err)
	}
	slices.SortFunc(out, func(a, b FileInfo) int { return cmpString(a.Name, b.Name) })
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ListTree gets the whole tree below dir in one streamed request, walked
// on the host.
func (f *helperFS) ListTree(dir string) ([]TreeEntry, error) {
	if err := f.begin("listtree", dir); err != nil {
		return nil, err
	}
	var out []TreeEntry
	prefix := dir + "/"
	items := func(d *wire.Dec) error {
		for d.More() {
			i := wire.DecodeInfo(d)
			p := i.Path
			if d.Err != nil || !ValidName(p) || (dir != "." && len(p) <= len(prefix)) || (dir != "." && p[:len(prefix)] != prefix) || p == "." {
				return fmt.Errorf("%w: %q", errBadName, p)
			}
			e := TreeEntry{Path: p, FileInfo: fileInfo(i, path.Base(p))}
			if e.IsSymlink() {
				e.Link = i.Link
			}
			out = append(out, e)
		}
		return d.Err
	}
	var e wire.Enc
	e.String(dir)
	if _, err := f.h.start(wire.OpListTree, items, e.B).wait(); err != nil {
		return nil, remoteErr("listtree", dir, err)
	}
	cmp := func(a, b TreeEntry) int { return ComparePaths(a.Path, b.Path) }
	if !slices.IsSortedFunc(out, cmp) {
		slices.SortFunc(out, cmp)
	}
	return out, nil
}

func (f *helperFS) Readlink(name string) (string, error) {
	if err := f.begin("readlink", name); err != nil {
		return "", err
	}
	out, err := f.req("readlink", wire.OpReadlink, name, nil)
	if err != nil {
		return "", err
	}
	d := &wire.Dec{B: out}
	return d.String(), d.Err
}

func (f *helperFS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.entry("mkdir", name); err != nil {
		return err
	}
	_, err := f.req("mkdir", wire.OpMkdir, name, func(e *wire.Enc) { e.Uint(uint64(perm.Perm())) })
	return err
}

func (f *helperFS) Symlink(target, newname string) error {
	if err := f.entry("symlink", newname); err != nil {
		return err
	}
	var e wire.Enc
	e.String(target)
	e.String(newname)
	if _, err := f.h.do(wire.OpSymlink, e.B); err != nil {
		return remoteErr("symlink", newname, err)
	}
	return nil
}

// two runs a request on two names; errors name errName.
func (f *helperFS) two(op string, wop byte, oldname, newname, errName string) error {
	if err := f.entry(op, oldname); err != nil {
		return err
	}
	if err := f.entry(op, newname); err != nil {
		return err
	}
	var e wire.Enc
	e.String(oldname)
	e.String(newname)
	if _, err := f.h.do(wop, e.B); err != nil {
		return remoteErr(op, errName, err)
	}
	return nil
}

func (f *helperFS) Rename(oldname, newname string) error {
	return f.two("rename", wire.OpRename, oldname, newname, oldname)
}

func (f *helperFS) Link(oldname, newname string) error {
	return f.two("link", wire.OpLink, oldname, newname, newname)
}

func (f *helperFS) CloneFile(oldname, newname string) error {
	return f.two("clone", wire.OpClone, oldname, newname, newname)
}

func (f *helperFS) Remove(name string) error {
	if err := f.entry("remove", name); err != nil {
		return err
	}
	_, err := f.req("remove", wire.OpRemove, name, nil)
	return err
}

// Chmod sets the mode of name, which must not be a symlink (the helper
// follows none).
func (f *helperFS) Chmod(name string, mode fs.FileMode) error {
	if err := f.begin("chmod", name); err != nil {
		return err
	}
	_, err := f.req("chmod", wire.OpChmod, name, func(e *wire.Enc) { e.Uint(uint64(toSFTPMode(mode))) }) // the bits as fs.FileMode
	return err
}

// Chtimes sets both times of name itself, a symlink's own included.
func (f *helperFS) Chtimes(name string, mtime time.Time) error {
	if err := f.begin("chtimes", name); err != nil {
		return err
	}
	_, err := f.req("chtimes", wire.OpChtimes, name, func(e *wire.Enc) {
		e.Int(mtime.Unix())
		e.Int(int64(mtime.Nanosecond()))
	})
	return err
}

func (f *helperFS) Lchown(name string, uid, gid int) error {
	if err := f.begin("lchown", name); err != nil {
		return err
	}
	_, err := f.req("lchown", wire.OpLchown, name, func(e *wire.Enc) {
		e.Int(int64(uid))
		e.Int(int64(gid))
	})
	return err
}

func (f *helperFS) SyncFS(dirs ...string) error {
	var e wire.Enc
	for _, dir := range dirs {
		if err := f.begin("syncfs", dir); err != nil {
			return err
		}
		e.String(dir)
	}
	if len(dirs) == 0 {
		return nil
	}
	if _, err := f.h.do(wire.OpSyncFS, e.B); err != nil {
		return remoteErr("syncfs", dirs[0], err)
	}
	return nil
}

// Run runs command on the host in the root, as sftpFS.Run does.
func (f *helperFS) Run(ctx context.Context, command string, stdout, stderr io.Writer) error {
	if f.c == nil {
		return &fs.PathError{Op: "run", Path: ".", Err: ErrNotSupported}
	}
	line := "cd -- " + shellQuote(f.h.root) + " && exec /bin/sh -c " + shellQuote(runScript) +
		" sh " + shellQuote(command)
	err := f.c.exec(ctx, f.c.shell(line), stdout, stderr)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
