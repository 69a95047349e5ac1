package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// ApplyOptions says how a plan is carried out.
type ApplyOptions struct {
	Trash   *Trash // where deleted and replaced entries go; nil deletes for real
	Workers int    // concurrent file transfers; 0 means 8
	Retries int    // copies of a file that changed while it was copied; 0 means 3
	// KeepZeros writes runs of zeros as data; by default a file larger
	// than smallFile is copied sparse (its zero blocks left as holes).
	KeepZeros bool
	// TempToken goes into the name of every temporary the run makes; the
	// caller records it (the journal) before Apply, so that only these
	// names are ever removed as temporaries. Empty: a fresh one.
	TempToken string
	Progress  *Progress // counters a caller may watch; may be nil
}

// Result is what a run did.
type Result struct {
	Files     int      `json:"files"`     // files copied or updated
	Bytes     int64    `json:"bytes"`     // bytes written
	Dirs      int      `json:"dirs"`      // directories created
	Links     int      `json:"links"`     // symlinks made
	Hardlinks int      `json:"hardlinks"` // hard links made
	Specials  int      `json:"specials"`  // FIFOs, sockets and device nodes made
	Meta      int      `json:"meta"`      // metadata-only changes
	Deleted   int      `json:"deleted"`   // files and links deleted (or moved to the trash)
	Warnings  []string `json:"warnings,omitempty"`
	Errors    []error  `json:"-"`
	// DeletesSkipped is set when deletions were held back because a read
	// or a transfer failed.
	DeletesSkipped bool `json:"deletes_skipped,omitempty"`
	// Written says, for each file renamed into place, what the run wrote.
	Written map[string]Written `json:"-"`

	done map[*Action]bool // the actions carried out, for the manifest
}

// Written is what a run left at a path it copied a file to.
type Written struct {
	Info  transport.FileInfo // the source's metadata as the copy saw it; Size: the bytes written
	Sum   *transport.Sum     // BLAKE3 of the bytes written; nil for a delta transfer
	Trust Trust              // whether the source held still while it was read
}

// Err joins the run's errors, nil when there were none.
func (r *Result) Err() error { return errors.Join(r.Errors...) }

// Apply carries out plan p, making dst a copy of src. The order is the
// safety contract: temporaries of a cut run removed; entries of the wrong
// type set aside into the trash; directories created; files written to a
// temporary name, synced, given mode, owner and mtime, then renamed over
// the real name; symlinks made the same way; then, only if every read and
// every transfer succeeded, the deletions, deepest first; last, directory
// modes and mtimes, deepest first. Apply returns an error only when ctx
// ends; what failed along the way is in Result.Errors.
func Apply(ctx context.Context, p *Plan, src, dst transport.FS, opt ApplyOptions) (*Result, error) {
	if opt.Workers <= 0 {
		opt.Workers = 8
	}
	if opt.Retries <= 0 {
		opt.Retries = 3
	}
	if opt.Progress == nil {
		opt.Progress = &Progress{}
	}
	if opt.TempToken == "" {
		opt.TempToken = transport.NewTempToken()
	}
	res := &Result{Written: map[string]Written{}, done: map[*Action]bool{}}
	ap := &applier{p: p, src: src, dst: dst, opt: opt, res: res, touched: map[string]bool{}}
	ap.res.Warnings = append(ap.res.Warnings, p.Warnings...)
	ap.prepare()
	if err := ap.transfer(ctx); err != nil {
		return ap.res, err
	}
	ap.linkAll(ctx)
	ap.deleteAll()
	ap.fixDirs()
	return ap.res, ctx.Err()
}

type applier struct {
	p        *Plan
	src, dst transport.FS
	opt      ApplyOptions
	mu       sync.Mutex
	res      *Result
	touched  map[string]bool // directories whose contents changed

	newOwnerOnce   sync.Once // learns the owner new files get on dst
	newUID, newGID int

	commit *committer // batches the syncs of copied files; nil: file by file
}

func (ap *applier) fail(err error) {
	ap.mu.Lock()
	ap.res.Errors = append(ap.res.Errors, err)
	ap.mu.Unlock()
}

func (ap *applier) warn(format string, args ...any) {
	ap.mu.Lock()
	ap.res.Warnings = append(ap.res.Warnings, fmt.Sprintf(format, args...))
	ap.mu.Unlock()
}

// did records that action a was carried out.
func (ap *applier) did(a *Action) {
	ap.mu.Lock()
	ap.res.done[a] = true
	ap.mu.Unlock()
}

// tempName returns a fresh temporary name beside p, with the run's token.
func (ap *applier) tempName(p string) string { return transport.TempNameFor(ap.opt.TempToken, p) }

func (ap *applier) touch(p string) {
	ap.mu.Lock()
	ap.touched[parent(p)] = true
	ap.mu.Unlock()
}

// prepare runs the steps that must precede the transfers, in plan order:
// cleanups, set-asides, directories and symlinks.
func (ap *applier) prepare() {
	for i := range ap.p.Actions {
		a := &ap.p.Actions[i]
		var err error
		switch a.Op {
		case OpCleanup:
			err = ap.dst.Remove(a.Path)
		case OpSetAside:
			err = ap.setAside(a.Path)
		case OpMkdir:
			err = ap.mkdir(a)
		default:
			continue
		}
		if err != nil {
			ap.fail(err)
			continue
		}
		ap.did(a)
	}
}

// setAside moves an entry of the wrong type out of the way. It goes to the
// trash even with --no-trash: it happens before the transfers, when it is
// not yet known that the run will succeed.
func (ap *applier) setAside(p string) error {
	trash := ap.opt.Trash
	if trash == nil {
		trash = NewTrash(ap.dst, time.Now())
	}
	ap.touch(p)
	return trash.Put(p)
}

func (ap *applier) mkdir(a *Action) error {
	// Owner-writable until fixDirs sets the real mode at the end.
	if err := transport.MkdirAll(ap.dst, parent(a.Path), 0o755); err != nil {
		return err
	}
	if err := ap.dst.Mkdir(a.Path, a.Src.Mode.Perm()|0o700); err != nil {
		return err
	}
	ap.touch(a.Path)
	ap.mu.Lock()
	ap.res.Dirs++
	ap.mu.Unlock()
	return nil
}

// transfer copies files, makes symlinks and sets metadata, concurrently.
func (ap *applier) transfer(ctx context.Context) error {
	var work []int
	for i, a := range ap.p.Actions {
		switch a.Op {
		case OpCopy, OpUpdate, OpSymlink, OpSpecial:
			work = append(work, i)
		case OpMeta:
			if !a.Src.IsDir() { // directories are done last, in fixDirs
				work = append(work, i)
			}
		}
	}
	if len(work) > 1 {
		ap.commit = newCommitter(ctx, ap)
	}
	err := forEach(ctx, len(work), ap.opt.Workers, func(k int) {
		if ctx.Err() != nil {
			return
		}
		a := &ap.p.Actions[work[k]]
		var err error
		switch a.Op {
		case OpCopy, OpUpdate:
			err = ap.copyFile(ctx, a)
		case OpSymlink:
			if err = ap.symlink(a); err == nil {
				ap.did(a)
			}
		case OpSpecial:
			if err = ap.special(a); err == nil {
				ap.did(a)
			}
		case OpMeta:
			err = ap.setMeta(a.Path, a.Src, a.Why)
			if err == nil {
				ap.did(a)
				ap.mu.Lock()
				ap.res.Meta++
				ap.mu.Unlock()
			}
		}
		if err != nil {
			ap.fail(err)
		}
	})
	if ap.commit != nil && ctx.Err() == nil {
		ap.commit.flush(ctx) // the last batch
	}
	return err
}

// deleteAll carries out the deletions, deepest first, unless anything
// failed: a source that could not be read completely, or a transfer that
// did not finish, must never cost the destination a file.
func (ap *applier) deleteAll() {
	var dels []*Action
	for i := range ap.p.Actions {
		if ap.p.Actions[i].Op == OpDelete {
			dels = append(dels, &ap.p.Actions[i])
		}
	}
	if len(dels) == 0 {
		return
	}
	if len(ap.p.SourceErrors) > 0 || len(ap.res.Errors) > 0 {
		ap.res.DeletesSkipped = true
		ap.warn("%d deletions skipped because of the errors above", len(dels))
		return
	}
	slices.SortFunc(dels, func(a, b *Action) int { return comparePaths(b.Path, a.Path) })
	for _, a := range dels {
		var err error
		switch {
		case a.Dst.IsDir():
			// Its contents went first (deepest first); in the trash its
			// subtree already exists, so only the empty directory remains.
			err = ap.dst.Remove(a.Path)
		case ap.opt.Trash != nil:
			err = ap.opt.Trash.Put(a.Path)
		default:
			err = ap.dst.Remove(a.Path)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			ap.fail(err)
			continue
		}
		ap.did(a)
		ap.touch(a.Path)
		if !a.Dst.IsDir() {
			ap.res.Deleted++
		}
	}
}

// fixDirs sets mode and mtime of every directory whose contents changed or
// whose metadata differs, deepest first, after everything inside is done.
func (ap *applier) fixDirs() {
	dirs := make(map[string]Change)
	for p := range ap.touched {
		dirs[p] |= ChangeTime
	}
	metaOf := make(map[string]*Action) // a directory's metadata action, done here
	for i := range ap.p.Actions {
		a := &ap.p.Actions[i]
		if (a.Op == OpMeta || a.Op == OpMkdir) && a.Src.IsDir() {
			dirs[a.Path] |= a.Why | ChangeTime | ChangePerm
		}
		if a.Op == OpMeta && a.Src.IsDir() {
			metaOf[a.Path] = a
		}
		if a.Op == OpMkdir && ap.p.Options.Owners {
			// A new directory is owned by whoever made it: as root, it
			// gets the source's owner like every file (rsync -a).
			dirs[a.Path] |= ChangeOwner
		}
	}
	paths := make([]string, 0, len(dirs))
	for p := range dirs {
		if _, ok := ap.p.srcDirs[p]; ok {
			paths = append(paths, p)
		}
	}
	slices.SortFunc(paths, func(a, b string) int { return comparePaths(b, a) })
	for _, p := range paths {
		e := ap.p.srcDirs[p]
		if err := ap.setMeta(p, &e, dirs[p]|ChangeTime); err != nil {
			ap.fail(err)
		} else if a := metaOf[p]; a != nil {
			ap.did(a)
		}
	}
}

// setMeta gives dst's entry p the owner, mode and mtime of source entry s.
func (ap *applier) setMeta(p string, s *Entry, why Change) error {
	if why&ChangeOwner != 0 && s.UID >= 0 {
		if lc, ok := ap.dst.(transport.Lchowner); ok {
			// An endpoint that cannot own a symlink (SFTP) leaves it.
			if err := lc.Lchown(p, s.UID, s.GID); err != nil && !errors.Is(err, transport.ErrNotSupported) {
				return err
			}
		}
	}
	if why&ChangePerm != 0 && !s.IsSymlink() {
		if err := ap.dst.Chmod(p, s.Mode); err != nil {
			return err
		}
	}
	if why&ChangeXattr != 0 && !s.IsSymlink() {
		if err := ap.setXattrs(p, s.Path); err != nil {
			return err
		}
	}
	return ap.dst.Chtimes(p, s.ModTime)
}
