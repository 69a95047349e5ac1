package mirror

import (
	"io/fs"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// TestPlanUnreadDirs: a source directory that could not be listed (its
// mode 0 is often why) is neither made on the mirror nor given its mode
// there, nothing below it is deleted, and the plan says the source is
// unread, so that the fence does not take it for an empty source.
func TestPlanUnreadDirs(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	dir := func(p string, perm fs.FileMode) Entry {
		return Entry{Path: p, FileInfo: transport.FileInfo{Name: p, Mode: fs.ModeDir | perm, ModTime: mtime, UID: -1, GID: -1}}
	}
	file := func(p string) Entry {
		return Entry{Path: p, FileInfo: transport.FileInfo{Name: p, Mode: 0o644, Size: 1, ModTime: mtime, UID: -1, GID: -1}}
	}
	denied := func(p string) error { return &fs.PathError{Op: "listtree", Path: p, Err: fs.ErrPermission} }
	root := dir("d", 0o755)
	src := &Tree{Root: &root, Entries: []Entry{dir("d/locked", 0), dir("d/new", 0)},
		Errors: []error{denied("d/locked"), denied("d/new")}}
	dst := &Tree{Root: &root, Entries: []Entry{dir("d/locked", 0o755), file("d/locked/kept.txt"), file("d/old.txt")}}
	p := &Plan{Options: Options{Delete: true}, srcDirs: map[string]Entry{}, SourceErrors: src.Errors}
	p.merge(src, dst)
	for _, a := range p.Actions {
		switch a.Path {
		case "d/locked", "d/new", "d/locked/kept.txt":
			t.Errorf("planned %v %s below or on an unread directory", a.Op, a.Path)
		}
	}
	if _, ok := p.srcDirs["d/locked"]; ok {
		t.Error("the unread directory's metadata would be set on the mirror")
	}
	if !p.SourceUnread() {
		t.Error("SourceUnread is false with directories that could not be listed")
	}
	missing := &Plan{SourceErrors: []error{&fs.PathError{Op: "plan", Path: "d", Err: errDIRMissing}}}
	if missing.SourceUnread() {
		t.Error("a missing DIR counts as unread: an empty source would pass the fence")
	}
}
