// Package faultfs wraps a transport.FS for tests so that chosen calls fail
// with a chosen error, or run a hook first: a source directory whose
// listing fails with EIO, a rename that fails on the third file, a marker
// changed by another process at the moment the lock is created.
//
// The wrapper has the core FS methods and the capabilities Link, Lchown and
// SyncFS (passed to the wrapped FS, ErrNotSupported where it lacks them).
// It has none of the others — HashFile, HashBlocks, the delta Patcher, Run —
// so that every byte the engine reads or writes passes through Open, Read,
// Create and Write, where faults can be put.
package faultfs

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Op names a method of the FS, or of a file it opened.
type Op string

// The operations a Fault can match. Read and Close match calls on a file
// that Open returned, Write, Sync and Close on one Create returned; their
// name is the name opened or created.
const (
	Lstat    Op = "lstat"
	ReadDir  Op = "readdir"
	Readlink Op = "readlink"
	Open     Op = "open"
	Read     Op = "read"
	Create   Op = "create"
	Write    Op = "write"
	Sync     Op = "sync"
	Close    Op = "close"
	Mkdir    Op = "mkdir"
	Symlink  Op = "symlink"
	Rename   Op = "rename"
	Remove   Op = "remove"
	Chmod    Op = "chmod"
	Chtimes  Op = "chtimes"
	Link     Op = "link"
	Lchown   Op = "lchown"
	SyncFS   Op = "syncfs"
)

// Fault is one planned failure (or hook).
type Fault struct {
	Op Op
	// Name is a path.Match pattern for the name the call acts on; for
	// Rename and Link either name may match (use To for the new name
	// alone); "" matches every name. SyncFS matches any of its dirs.
	Name string
	// To, when set, is a pattern the new name of a Rename, Link or
	// Symlink must match.
	To string
	// After lets this many matching calls through before the fault acts.
	After int
	// Times is how many matching calls the fault acts on after those;
	// 0 means every one.
	Times int
	// Err is the error a faulted call returns, inside an *fs.PathError;
	// nil with a Hook lets the call go on after the hook; nil without a
	// Hook means EIO.
	Err error
	// Hook, when set, runs at each faulted call before it fails or goes
	// on (another process acting at that very moment).
	Hook func()

	seen int // matching calls so far
}

// Call is one call the FS received.
type Call struct {
	Op       Op
	Name, To string
	Failed   bool
}

func (c Call) String() string {
	s := string(c.Op) + " " + c.Name
	if c.To != "" {
		s += " -> " + c.To
	}
	if c.Failed {
		s += " (failed)"
	}
	return s
}

// FS is a transport.FS with faults. Safe for concurrent use.
type FS struct {
	inner  transport.FS
	mu     sync.Mutex
	faults []*Fault
	calls  []Call
}

// New wraps inner with the faults given (more can be added with Add).
func New(inner transport.FS, faults ...Fault) *FS {
	f := &FS{inner: inner}
	for _, ft := range faults {
		f.Add(ft)
	}
	return f
}

// Add adds a fault.
func (f *FS) Add(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := ft
	f.faults = append(f.faults, &c)
}

// Calls returns every call received so far, in order.
func (f *FS) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Faulted returns the calls that failed.
func (f *FS) Faulted() []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Failed {
			out = append(out, c)
		}
	}
	return out
}

func match(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

func (ft *Fault) matches(op Op, names []string, to string) bool {
	if ft.Op != op || (ft.To != "" && !match(ft.To, to)) {
		return false
	}
	for _, n := range names {
		if match(ft.Name, n) {
			return true
		}
	}
	return false
}

// check records a call and returns the error it must fail with, after
// running the hooks of the faults acting on it; nil lets it go on.
func (f *FS) check(op Op, name, to string, also ...string) error {
	f.mu.Lock()
	var hooks []func()
	var err error
	for _, ft := range f.faults {
		if !ft.matches(op, append([]string{name}, also...), to) {
			continue
		}
		ft.seen++
		if ft.seen <= ft.After || (ft.Times > 0 && ft.seen > ft.After+ft.Times) {
			continue
		}
		if ft.Hook != nil {
			hooks = append(hooks, ft.Hook)
		}
		if err == nil && (ft.Err != nil || ft.Hook == nil) {
			err = ft.Err
			if err == nil {
				err = syscall.EIO
			}
		}
	}
	f.calls = append(f.calls, Call{Op: op, Name: name, To: to, Failed: err != nil})
	f.mu.Unlock()
	for _, h := range hooks { // outside the lock: a hook may use the FS
		h()
	}
	if err != nil {
		return &fs.PathError{Op: string(op), Path: name, Err: err}
	}
	return nil
}

// String names the wrapped endpoint.
func (f *FS) String() string { return f.inner.String() }

// Lstat is the wrapped FS's Lstat, with faults.
func (f *FS) Lstat(name string) (transport.FileInfo, error) {
	if err := f.check(Lstat, name, ""); err != nil {
		return transport.FileInfo{}, err
	}
	return f.inner.Lstat(name)
}

// ReadDir is the wrapped FS's ReadDir, with faults.
func (f *FS) ReadDir(name string) ([]transport.FileInfo, error) {
	if err := f.check(ReadDir, name, ""); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(name)
}

// Readlink is the wrapped FS's Readlink, with faults.
func (f *FS) Readlink(name string) (string, error) {
	if err := f.check(Readlink, name, ""); err != nil {
		return "", err
	}
	return f.inner.Readlink(name)
}

// Open is the wrapped FS's Open, with faults; the reader has Read and
// Close only.
func (f *FS) Open(name string) (io.ReadCloser, error) {
	if err := f.check(Open, name, ""); err != nil {
		return nil, err
	}
	r, err := f.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &reader{f: f, name: name, r: r}, nil
}

type reader struct {
	f    *FS
	name string
	r    io.ReadCloser
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.f.check(Read, r.name, ""); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *reader) Close() error {
	err := r.r.Close()
	if ferr := r.f.check(Close, r.name, ""); ferr != nil {
		return ferr
	}
	return err
}

// Create is the wrapped FS's Create, with faults; the file has Write, Sync
// and Close only.
func (f *FS) Create(name string, perm fs.FileMode) (transport.WriteFile, error) {
	if err := f.check(Create, name, ""); err != nil {
		return nil, err
	}
	w, err := f.inner.Create(name, perm)
	if err != nil {
		return nil, err
	}
	return &writer{f: f, name: name, w: w}, nil
}

type writer struct {
	f    *FS
	name string
	w    transport.WriteFile
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.f.check(Write, w.name, ""); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

func (w *writer) Sync() error {
	if err := w.f.check(Sync, w.name, ""); err != nil {
		return err
	}
	return w.w.Sync()
}

func (w *writer) Close() error {
	err := w.w.Close()
	if ferr := w.f.check(Close, w.name, ""); ferr != nil {
		return ferr
	}
	return err
}

// Mkdir is the wrapped FS's Mkdir, with faults.
func (f *FS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.check(Mkdir, name, ""); err != nil {
		return err
	}
	return f.inner.Mkdir(name, perm)
}

// Symlink is the wrapped FS's Symlink, with faults; Name matches newname,
// To the target.
func (f *FS) Symlink(target, newname string) error {
	if err := f.check(Symlink, newname, target); err != nil {
		return err
	}
	return f.inner.Symlink(target, newname)
}

// Rename is the wrapped FS's Rename, with faults.
func (f *FS) Rename(oldname, newname string) error {
	if err := f.check(Rename, oldname, newname, newname); err != nil {
		return err
	}
	return f.inner.Rename(oldname, newname)
}

// Remove is the wrapped FS's Remove, with faults.
func (f *FS) Remove(name string) error {
	if err := f.check(Remove, name, ""); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

// Chmod is the wrapped FS's Chmod, with faults.
func (f *FS) Chmod(name string, mode fs.FileMode) error {
	if err := f.check(Chmod, name, ""); err != nil {
		return err
	}
	return f.inner.Chmod(name, mode)
}

// Chtimes is the wrapped FS's Chtimes, with faults.
func (f *FS) Chtimes(name string, mtime time.Time) error {
	if err := f.check(Chtimes, name, ""); err != nil {
		return err
	}
	return f.inner.Chtimes(name, mtime)
}

// Link makes a hard link through the wrapped FS (transport.Link), with
// faults.
func (f *FS) Link(oldname, newname string) error {
	if err := f.check(Link, oldname, newname, newname); err != nil {
		return err
	}
	return transport.Link(f.inner, oldname, newname)
}

// Lchown is the wrapped FS's Lchown, with faults; ErrNotSupported when it
// has none.
func (f *FS) Lchown(name string, uid, gid int) error {
	if err := f.check(Lchown, name, ""); err != nil {
		return err
	}
	if lc, ok := f.inner.(transport.Lchowner); ok {
		return lc.Lchown(name, uid, gid)
	}
	return &fs.PathError{Op: "lchown", Path: name, Err: transport.ErrNotSupported}
}

// SyncFS is transport.SyncFS on the wrapped FS, with faults.
func (f *FS) SyncFS(dirs ...string) error {
	name := "."
	if len(dirs) > 0 {
		name = dirs[0]
	}
	if err := f.check(SyncFS, name, "", dirs...); err != nil {
		return err
	}
	if s, ok := f.inner.(transport.FSSyncer); ok {
		return s.SyncFS(dirs...)
	}
	return fmt.Errorf("syncfs: %w", transport.ErrNotSupported)
}

// Close closes the wrapped FS.
func (f *FS) Close() error { return f.inner.Close() }

var (
	_ transport.FS       = (*FS)(nil)
	_ transport.Linker   = (*FS)(nil)
	_ transport.Lchowner = (*FS)(nil)
	_ transport.FSSyncer = (*FS)(nil)
)
