// Package mirror plans, applies and checks the copy of a source tree onto
// its mirror, and holds the safety machinery around it: identity markers and
// fencing, the manifest, the trash and the run lock.
package mirror

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Entry is one path of a tree in scope.
type Entry struct {
	Path string // slash-separated, relative to the copy's root
	transport.FileInfo
	Link string // symlink target, for symlinks
}

// ReservedPrefix starts the names, at a copy's root, that belong to the tool
// (marker, manifest, trash, lock); they are never mirrored.
const ReservedPrefix = ".backup-"

// Tree is the listing of one DIR of a copy: the DIR itself (nil when it
// does not exist) and everything below it in walk order: depth first, the
// entries of each directory sorted by name (see comparePaths).
type Tree struct {
	Root    *Entry
	Entries []Entry
	Temps   []string // leftover temporary files of a cut run
	Errors  []error  // directories or links that could not be read
}

// TempTokens are the tokens of the runs whose temporaries may be left in a
// copy, as its journal recorded them. Inside the DIRs only a name carrying
// one of them is a temporary (removed by the next run); every other name
// is the users', whatever it looks like, and is mirrored.
type TempTokens map[string]bool

// owns reports whether base, an entry of directory dir, is a temporary the
// tool made: one with a recorded token, or any temporary-looking name at
// the copy's root, where every ".backup-" name is the tool's.
func (tt TempTokens) owns(dir, base string) bool {
	if dir == "." && transport.IsTemp(base) {
		return true
	}
	token, ok := transport.TempToken(base)
	return ok && tt[token]
}

// listConcurrency bounds the directory reads in flight: over SFTP each is a
// round trip, so several at once hide the latency.
const listConcurrency = 16

// ListTree walks dir (a relative path; "." for the whole root) in fsys. A
// dir that does not exist gives a Tree with a nil Root and no error;
// unreadable directories are recorded in Tree.Errors and the walk goes on.
// Reserved names at the copy's root and the temporaries of the runs that
// own records (see TempTokens) are left out; those temporaries are
// returned in Tree.Temps.
func ListTree(fsys transport.FS, dir string, own TempTokens) *Tree {
	w := &walker{fsys: fsys, own: own, sem: make(chan struct{}, listConcurrency)}
	tree := &Tree{}
	fi, err := fsys.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return tree
	case err != nil:
		tree.Errors = append(tree.Errors, err)
		return tree
	}
	root := w.entry(dir, fi)
	tree.Root = &root
	if fi.IsDir() && !w.listWhole(dir, tree) {
		tree.Entries = w.subtree(dir)
	}
	tree.Temps = w.temps
	tree.Errors = append(tree.Errors, w.errs...)
	return tree
}

// listWhole lists the tree below dir in one request when fsys can (a
// remote host with GNU find), keeping the walk's rules: temporaries set
// apart, reserved names at the root left out with everything below them.
// What could not be read is recorded, one error per entry, and what could
// is kept, as the walk does. It reports false when fsys cannot list
// trees, and the caller walks instead.
func (w *walker) listWhole(dir string, tree *Tree) bool {
	tl, ok := w.fsys.(transport.TreeLister)
	if !ok {
		return false
	}
	all, err := tl.ListTree(dir)
	if errors.Is(err, transport.ErrNotSupported) {
		return false
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			w.fail(e)
		}
	} else if err != nil {
		w.fail(err)
	}
	tree.Entries = make([]Entry, 0, len(all))
	for _, e := range all {
		top, _, _ := strings.Cut(e.Path, "/")
		switch {
		case dir == "." && strings.HasPrefix(top, ReservedPrefix):
		case w.own.owns(parent(e.Path), e.Name):
			w.temps = append(w.temps, e.Path)
		default:
			tree.Entries = append(tree.Entries, Entry{Path: e.Path, FileInfo: e.FileInfo, Link: e.Link})
		}
	}
	return true
}

type walker struct {
	fsys  transport.FS
	own   TempTokens
	sem   chan struct{}
	mu    sync.Mutex
	errs  []error
	temps []string
}

func (w *walker) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

func (w *walker) entry(p string, fi transport.FileInfo) Entry {
	e := Entry{Path: p, FileInfo: fi}
	if fi.IsSymlink() {
		link, err := w.fsys.Readlink(p)
		if err != nil {
			w.fail(err)
		}
		e.Link = link
	}
	return e
}

// subtree returns everything below dir in walk order. Subdirectories are
// read concurrently while a slot is free, inline otherwise, so the walk
// never waits on itself.
func (w *walker) subtree(dir string) []Entry {
	infos, err := w.fsys.ReadDir(dir)
	if err != nil {
		w.fail(err)
		return nil
	}
	parts := make([][]Entry, len(infos))
	var wg sync.WaitGroup
	for i, fi := range infos {
		p := path.Join(dir, fi.Name)
		if !transport.ValidElem(fi.Name) {
			w.fail(&fs.PathError{Op: "readdir", Path: p, Err: fs.ErrInvalid})
			continue
		}
		if w.own.owns(dir, fi.Name) {
			w.mu.Lock()
			w.temps = append(w.temps, p)
			w.mu.Unlock()
			continue
		}
		if dir == "." && strings.HasPrefix(fi.Name, ReservedPrefix) {
			continue
		}
		parts[i] = []Entry{w.entry(p, fi)}
		if !fi.IsDir() {
			continue
		}
		select {
		case w.sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				parts[i] = append(parts[i], w.subtree(p)...)
				<-w.sem
			}()
		default:
			parts[i] = append(parts[i], w.subtree(p)...)
		}
	}
	wg.Wait()
	var out []Entry
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// comparePaths orders paths as the walk yields them: element by element,
// so that "a/b" comes before "a.txt" (a directory's contents follow it).
var comparePaths = transport.ComparePaths

// isBelow reports whether p is dir or inside it.
func isBelow(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}
