package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Op is what an Action does to the destination copy.
type Op uint8

const (
	OpMkdir    Op = iota + 1 // create a directory
	OpCopy                   // create a file that the destination lacks
	OpUpdate                 // replace a file whose content differs
	OpSymlink                // create or replace a symlink
	OpMeta                   // set mode, mtime or owner only
	OpSetAside               // move an entry of another type out of the way first
	OpDelete                 // delete what the source no longer has
	OpCleanup                // remove a temporary file left by a cut run
	OpHardlink               // make a file a hard link of another (Action.LinkTo)
	OpSpecial                // create or replace a FIFO, socket or device node
)

var opNames = [...]string{"", "mkdir", "copy", "update", "symlink", "meta", "set-aside", "delete", "cleanup", "hardlink", "special"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Action is one step of a Plan.
type Action struct {
	Op   Op
	Path string
	Src  *Entry         // the source entry; nil for deletions and cleanups
	Dst  *Entry         // the destination entry it replaces or changes; nil when new
	Why  Change         // what differs, for updates and metadata changes
	Sum  *transport.Sum // the source content hash, when the plan computed it
	// LinkTo is, for OpHardlink, the path of the first member of the
	// file's hard-link group, which the link is made to.
	LinkTo string
}

// Change is a set of differences between a source and a destination entry.
type Change uint8

const (
	ChangeContent Change = 1 << iota // content differs (checksum)
	ChangeSize
	ChangeTime
	ChangePerm
	ChangeOwner
	ChangeLink // symlink target
	ChangeType // a file where a directory was, or the like
)

// Options says what a plan compares and what it may do.
type Options struct {
	Dirs     []string // DIRs of the target; none means the whole root
	Checksum bool     // compare content by BLAKE3 instead of size and mtime
	Delete   bool     // plan the deletions that keep the destination exact
	Owners   bool     // compare and set owners (when running as root)
	Workers  int      // concurrent hashes; 0 means 8
	// SrcTemps and DstTemps name the temporaries each copy's journal
	// records: only those are left out of the listings (and cleaned up on
	// the destination); any other name is a user's file.
	SrcTemps, DstTemps TempTokens
	// Recheck lists destination files whose size and mtime cannot be
	// trusted (the manifest recorded them as copied while they changed,
	// or too soon after a change): they are compared by content, as with
	// Checksum.
	Recheck map[string]bool
	// Xattrs compares and keeps extended attributes and POSIX ACLs of
	// files and directories (both endpoints must carry them, else a note
	// says they are not kept).
	Xattrs bool
	// Specials makes FIFOs and sockets on the destination, and device
	// nodes with Owners (as root); other special files are skipped with a
	// warning.
	Specials bool
	// HardLinks keeps the source's hard links as hard links on the
	// destination (the destination can make them).
	HardLinks bool
	// Progress, when set, counts the files hashed to compare content.
	Progress *Progress
}

// Plan is the ordered list of actions that makes the destination a copy of
// the source within the target's DIRs. Printing it is the dry-run audit.
type Plan struct {
	From, To     string // the endpoints, for messages
	Options      Options
	Actions      []Action
	SourceErrors []error      // source reads that failed: no deletions may happen
	DirProblems  []DirProblem // DIRs missing or not directories: the run is refused
	DestErrors   []error      // destination reads that failed
	Warnings     []string
	Notes        []string // what the run cannot do here, said once (not a warning)
	Totals       Totals

	srcDirs map[string]Entry         // every source directory in scope, for metadata
	sums    map[string]transport.Sum // content hashes seen equal on both sides
	hashed  time.Time                // when those hashes were taken (see racy)
	dst     []Entry                  // the destination in scope, as listed
	linked  []*Entry                 // source files with more than one link, in walk order
	// xattrSrc are the source files and directories whose attributes are
	// compared (Options.Xattrs), and xattrs the attributes to set, by path.
	xattrSrc []*Entry
	xattrs   map[string][]transport.Xattr
	// dstXattrs are the digests of the destination's attributes read
	// (xattrDigest), by path: for the manifest and its changed-outside rule.
	dstXattrs map[string]transport.Sum
	// srcOfLinked is the source entry of each path whose destination file
	// has more than one link, to undo links the source no longer has.
	srcOfLinked map[string]*Entry
	// wrappedTimes counts entries whose time the destination holds as
	// SFTP wraps it (see wrapped32).
	wrappedTimes int
}

// Totals sums up a plan.
type Totals struct {
	Files       int   `json:"files"`        // files to copy or update
	Bytes       int64 `json:"bytes"`        // bytes those files hold
	Dirs        int   `json:"dirs"`         // directories to create
	Links       int   `json:"links"`        // symlinks to create or change
	Hardlinks   int   `json:"hardlinks"`    // files to make hard links of others
	Specials    int   `json:"specials"`     // FIFOs, sockets and device nodes to make
	Meta        int   `json:"meta"`         // metadata-only changes
	Deletes     int   `json:"deletes"`      // files and links to delete (directories not counted)
	DeleteBytes int64 `json:"delete_bytes"` // bytes those files hold
	DestFiles   int   `json:"dest_files"`   // files and links in scope on the destination now
	SourceFiles int   `json:"source_files"` // files and links in scope on the source
	SourceBytes int64 `json:"source_bytes"` // bytes the source's files hold
}

// MakePlan compares src and dst within opt.Dirs and returns the plan that
// makes dst a copy of src. It reads both trees and writes nothing. Listing
// errors do not fail the plan: they are recorded in it, and a plan with
// SourceErrors never deletes.
func MakePlan(ctx context.Context, src, dst transport.FS, opt Options) (*Plan, error) {
	if len(opt.Dirs) == 0 {
		opt.Dirs = []string{"."}
	}
	if opt.Workers <= 0 {
		opt.Workers = 8
	}
	p := &Plan{From: src.String(), To: dst.String(), Options: opt, srcDirs: map[string]Entry{}, sums: map[string]transport.Sum{}, srcOfLinked: map[string]*Entry{}}
	for _, dir := range opt.Dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.planDir(src, dst, dir)
	}
	if opt.Checksum || len(opt.Recheck) > 0 {
		if err := p.compareContent(ctx, src, dst); err != nil {
			return nil, err
		}
	}
	if opt.Xattrs {
		if err := p.compareXattrs(ctx, src, dst); err != nil {
			return nil, err
		}
	}
	if opt.HardLinks {
		p.keepHardLinks()
	}
	if p.wrappedTimes > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("modification times outside 1970–2106 not kept: %s holds %d of them wrapped, as SFTP's 32-bit seconds carry them (with touch on the host, or the remote helper, they are kept exactly)", p.To, p.wrappedTimes))
	}
	p.sum()
	return p, nil
}

// errDIRMissing is in SourceErrors for a DIR that is missing or not a
// directory on the copy read from (see DirProblem): nothing of it was
// read, and nothing of it is copied.
var errDIRMissing = errors.New("the DIR is not copied")

// SourceUnread reports whether some of the source could not be read (an
// unreadable directory, a listing cut short; not a DIR that is missing):
// the plan then deletes nothing, and a source that looks empty may just
// be unreadable.
func (p *Plan) SourceUnread() bool {
	for _, err := range p.SourceErrors {
		if !errors.Is(err, errDIRMissing) {
			return true
		}
	}
	return false
}

// planDir plans one DIR. A DIR that is missing or not a directory on src,
// or not a directory on dst, gets no action at all (DirProblems, which
// refuse the run); the destination's files still count, so that a source
// without its DIRs is an empty source.
func (p *Plan) planDir(src, dst transport.FS, dir string) {
	var srcProb, dstProb *DirProblem
	var wg sync.WaitGroup
	wg.Go(func() { srcProb = checkDirPath(src, dir, true) })
	wg.Go(func() { dstProb = checkDirPath(dst, dir, false) })
	wg.Wait()
	if dstProb != nil {
		p.DirProblems = append(p.DirProblems, *dstProb)
		p.DestErrors = append(p.DestErrors, dstProb.err(p.To))
	}
	if srcProb != nil {
		p.DirProblems = append(p.DirProblems, *srcProb)
		p.SourceErrors = append(p.SourceErrors, srcProb.err(p.From))
	}
	if dstProb != nil {
		return // nothing below it is listed: it would be read through
	}
	var st, dt *Tree
	if srcProb == nil {
		wg.Go(func() { st = ListTree(src, dir, p.Options.SrcTemps) })
	}
	wg.Go(func() { dt = ListTree(dst, dir, p.Options.DstTemps) })
	wg.Wait()
	p.DestErrors = append(p.DestErrors, dt.Errors...)
	for _, t := range dt.Temps {
		p.Actions = append(p.Actions, Action{Op: OpCleanup, Path: t})
	}
	if dt.Root != nil {
		p.dst = append(p.dst, *dt.Root)
		p.dst = append(p.dst, dt.Entries...)
	}
	if st != nil {
		p.SourceErrors = append(p.SourceErrors, st.Errors...)
		if st.Root == nil && len(st.Errors) == 0 { // gone since it was checked
			p.SourceErrors = append(p.SourceErrors, DirProblem{Dir: dir, Path: dir, From: true, Found: "missing"}.err(p.From))
		}
	}
	if st == nil || st.Root == nil {
		p.Totals.DestFiles += countFiles(dt)
		return
	}
	p.merge(st, dt)
}

// merge walks the two listings of one DIR side by side, in walk order.
func (p *Plan) merge(st, dt *Tree) {
	srcs := append([]Entry{*st.Root}, st.Entries...)
	var dsts []Entry
	if dt.Root != nil {
		dsts = append([]Entry{*dt.Root}, dt.Entries...)
	}
	setAside := "" // a destination directory moved away: skip what was inside
	unread := unreadDirs(st)
	unreadDir := "" // a source directory not listed: keep what is inside
	for k, e := range srcs {
		if !e.IsDir() {
			p.Totals.SourceFiles++
		}
		if p.Options.Xattrs && (e.IsRegular() || e.IsDir()) {
			p.xattrSrc = append(p.xattrSrc, &srcs[k])
		}
		if e.IsRegular() {
			p.Totals.SourceBytes += e.Size
			if e.Nlink > 1 {
				p.linked = append(p.linked, &srcs[k])
			}
		}
	}
	for _, e := range dsts {
		if !e.IsDir() {
			p.Totals.DestFiles++
		}
	}
	i, j := 0, 0
	for i < len(srcs) || j < len(dsts) {
		if j < len(dsts) && setAside != "" && isBelow(dsts[j].Path, setAside) && dsts[j].Path != setAside {
			if !dsts[j].IsDir() { // goes to the trash with its directory
				p.Totals.Deletes++
				p.Totals.DeleteBytes += dsts[j].Size
			}
			j++
			continue
		}
		if j < len(dsts) && unreadDir != "" && isBelow(dsts[j].Path, unreadDir) && dsts[j].Path != unreadDir {
			j++ // not a deletion: the source's side is unknown
			continue
		}
		c := 0
		switch {
		case i == len(srcs):
			c = 1
		case j == len(dsts):
			c = -1
		case i == 0 || j == 0:
			c = 0 // both DIR roots
		default:
			c = comparePaths(srcs[i].Path, dsts[j].Path)
		}
		switch {
		case c < 0 && unread[srcs[i].Path] && srcs[i].IsDir():
			i++ // not made on the mirror: see unreadDirs
		case c < 0:
			p.create(&srcs[i])
			i++
		case c == 0 && unread[srcs[i].Path] && srcs[i].IsDir() && dsts[j].IsDir():
			unreadDir = srcs[i].Path // the mirror's copy left as it is
			i, j = i+1, j+1
		case c > 0:
			p.remove(&dsts[j])
			j++
		default:
			if dsts[j].IsRegular() && dsts[j].Nlink > 1 {
				p.srcOfLinked[dsts[j].Path] = &srcs[i]
			}
			if p.compare(&srcs[i], &dsts[j]) {
				setAside = dsts[j].Path
			}
			i, j = i+1, j+1
		}
	}
}

// unreadDirs returns the paths of t that could not be read; those that
// are directories could not be listed. Their mode (often 0, why they could not be read) and mtime say
// nothing about what they hold, and copied to the mirror such a mode
// would lock the tool out of the mirror's copy too: the mirror's
// directory is left as it is, or not made, until the source's is read.
func unreadDirs(t *Tree) map[string]bool {
	dirs := map[string]bool{}
	for _, err := range t.Errors {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			dirs[pe.Path] = true
		}
	}
	return dirs
}

// countFiles returns the files and links of a listing.
func countFiles(t *Tree) int {
	n := 0
	for _, e := range t.Entries {
		if !e.IsDir() {
			n++
		}
	}
	if t.Root != nil && !t.Root.IsDir() {
		n++
	}
	return n
}

func (p *Plan) add(a Action) { p.Actions = append(p.Actions, a) }

// create plans a source entry the destination lacks.
func (p *Plan) create(s *Entry) {
	switch {
	case s.IsDir():
		p.srcDirs[s.Path] = *s
		p.add(Action{Op: OpMkdir, Path: s.Path, Src: s})
	case s.IsRegular():
		p.add(Action{Op: OpCopy, Path: s.Path, Src: s})
	case s.IsSymlink():
		p.add(Action{Op: OpSymlink, Path: s.Path, Src: s})
	case p.makesSpecial(s):
		p.add(Action{Op: OpSpecial, Path: s.Path, Src: s})
	default:
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: skipping special file (%s)", s.Path, s.Mode.Type()))
	}
}

// remove plans the deletion of a destination entry the source lacks.
func (p *Plan) remove(d *Entry) {
	if p.Options.Delete {
		p.add(Action{Op: OpDelete, Path: d.Path, Dst: d})
	}
}

// compare plans what makes d equal to s; it reports whether d is a
// directory being set aside (so its contents must be skipped).
func (p *Plan) compare(s, d *Entry) (dirSetAside bool) {
	if s.Mode.Type() != d.Mode.Type() {
		if s.Mode.Type()&^(fs.ModeDir|fs.ModeSymlink) != 0 && !p.makesSpecial(s) {
			p.create(s) // a special file: warned about, the destination kept
			return false
		}
		p.add(Action{Op: OpSetAside, Path: d.Path, Dst: d, Why: ChangeType})
		p.create(s)
		return d.IsDir()
	}
	meta := p.metaChange(s, d)
	switch {
	case s.IsDir():
		p.srcDirs[s.Path] = *s
		if meta != 0 {
			p.add(Action{Op: OpMeta, Path: s.Path, Src: s, Dst: d, Why: meta})
		}
	case s.IsRegular():
		switch {
		case s.Size != d.Size:
			p.add(Action{Op: OpUpdate, Path: s.Path, Src: s, Dst: d, Why: meta | ChangeSize})
		case !p.Options.Checksum && meta&ChangeTime != 0:
			p.add(Action{Op: OpUpdate, Path: s.Path, Src: s, Dst: d, Why: meta})
		case p.Options.Checksum || p.Options.Recheck[s.Path] || meta != 0:
			// With --checksum, compareContent turns this into an update
			// when the content differs, or drops it when nothing does.
			p.add(Action{Op: OpMeta, Path: s.Path, Src: s, Dst: d, Why: meta})
		}
	case s.IsSymlink():
		switch {
		case s.Link != d.Link:
			p.add(Action{Op: OpSymlink, Path: s.Path, Src: s, Dst: d, Why: meta | ChangeLink})
		case meta&^ChangePerm != 0:
			p.add(Action{Op: OpMeta, Path: s.Path, Src: s, Dst: d, Why: meta &^ ChangePerm})
		}
	case !p.makesSpecial(s):
		p.create(s) // warned about
	case s.Rdev != d.Rdev:
		p.add(Action{Op: OpSpecial, Path: s.Path, Src: s, Dst: d, Why: meta | ChangeContent})
	case meta != 0:
		p.add(Action{Op: OpMeta, Path: s.Path, Src: s, Dst: d, Why: meta})
	}
	return false
}

func (p *Plan) metaChange(s, d *Entry) Change {
	var c Change
	switch {
	case !sameTime(s.ModTime, d.ModTime):
		c |= ChangeTime
	case s.ModTime.Unix() != d.ModTime.Unix():
		p.wrappedTimes++ // what SFTP makes of it: see wrapped32
	}
	if s.Mode.Perm() != d.Mode.Perm() || s.Mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != d.Mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) {
		c |= ChangePerm
	}
	if p.Options.Owners && s.UID >= 0 && d.UID >= 0 && (s.UID != d.UID || s.GID != d.GID) {
		c |= ChangeOwner
	}
	return c
}

// sameTime compares modification times at the precision both sides carry:
// an endpoint that keeps whole seconds only (SFTP) matches any time in
// that second, and one that holds a time outside 1970–2106 as SFTP wraps
// it matches the real time (see wrapped32).
func sameTime(a, b time.Time) bool {
	switch {
	case a.Unix() != b.Unix():
		return wrapped32(a) == b.Unix() || wrapped32(b) == a.Unix()
	case a.Nanosecond() == 0 || b.Nanosecond() == 0:
		return true
	}
	return a.Equal(b)
}

// wrapped32 returns the time SFTP v3 carries for t: its times are
// unsigned 32-bit seconds, so a time before 1970 or after 2106 arrives
// wrapped on an endpoint that can set it no other way (no touch on the
// host). Such a copy is as good as the endpoint can make it; comparing it
// as changed would copy the file again on every run.
func wrapped32(t time.Time) int64 {
	return int64(uint32(t.Unix()))
}

// sum fills in the totals.
func (p *Plan) sum() {
	t := &p.Totals
	for _, a := range p.Actions {
		switch a.Op {
		case OpMkdir:
			t.Dirs++
		case OpCopy, OpUpdate:
			t.Files++
			t.Bytes += a.Src.Size
		case OpSymlink:
			t.Links++
		case OpHardlink:
			t.Hardlinks++
		case OpSpecial:
			t.Specials++
		case OpMeta:
			t.Meta++
		case OpDelete, OpSetAside:
			if !a.Dst.IsDir() {
				t.Deletes++
				t.DeleteBytes += a.Dst.Size
			}
		}
	}
}

// parent returns the directory holding p ("." at the top).
func parent(p string) string { return path.Dir(p) }
