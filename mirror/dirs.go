package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/mirrorfence/mirrorfence/transport"
)

// ErrNotDirectory is wrapped by the plan's error for a DIR (or a directory
// above it) that is a file, a symlink or a special file instead.
var ErrNotDirectory = errors.New("not a directory")

// DirProblem is a DIR of the target that a run must not touch as found:
// on the copy it reads from, the DIR is missing or is not a directory (a
// file, a symlink — to /etc, say — which is never followed); on the copy
// it writes to, the DIR or a directory above it exists but is not a
// directory (a symlink there is never written through). Either way the
// run is refused (see fenceDirs): nothing is written into or trashed from
// any DIR.
type DirProblem struct {
	Dir   string // the DIR, as the table names it
	Path  string // what was found wrong: the DIR or a directory above it
	From  bool   // on the copy read from (else on the copy written to)
	Found string // what is there: "missing", "a symlink to /etc", "a regular file"
}

// err is the problem as a read error of the plan, for check and the log.
func (d DirProblem) err(copyName string) error {
	cause := ErrNotDirectory
	if d.Found == "missing" {
		cause = fs.ErrNotExist
	}
	if d.From {
		// Marked as no unread part of the source (SourceUnread).
		return &fs.PathError{Op: "plan", Path: d.Dir, Err: fmt.Errorf("DIR %s on %s: %s is %s: %w: %w", d.Dir, copyName, d.Path, d.Found, cause, errDIRMissing)}
	}
	return &fs.PathError{Op: "plan", Path: d.Dir, Err: fmt.Errorf("DIR %s on %s: %s is %s: %w", d.Dir, copyName, d.Path, d.Found, cause)}
}

// checkDirPath looks at the DIR dir and every directory above it on fsys,
// without following any symlink, and returns what is wrong, or nil. On the
// copy read from (from) a DIR that does not exist is wrong too; on the
// copy written to it is made by the run. Another error leaves the DIR to
// the listing, which records it as a read error.
func checkDirPath(fsys transport.FS, dir string, from bool) *DirProblem {
	if dir == "." {
		return nil // the root: the fences on the markers judge it
	}
	elems := strings.Split(dir, "/")
	for i := range elems {
		p := strings.Join(elems[:i+1], "/")
		fi, err := fsys.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && from:
			return &DirProblem{Dir: dir, Path: p, From: true, Found: "missing"}
		case err != nil:
			return nil // not there: made by the run; else left to the listing
		case !fi.IsDir():
			return &DirProblem{Dir: dir, Path: p, From: from, Found: describeNonDir(fsys, p, fi)}
		}
	}
	return nil
}

// describeNonDir says what stands where a directory should.
func describeNonDir(fsys transport.FS, p string, fi transport.FileInfo) string {
	switch {
	case fi.IsSymlink():
		link, err := fsys.Readlink(p)
		if err != nil {
			return "a symlink"
		}
		return "a symlink to " + DisplayName(link)
	case fi.IsRegular():
		return "a regular file"
	default:
		return "a special file (" + fi.Mode.Type().String() + ")"
	}
}

// fenceDirs refuses a run whose plan found DIRs it must not touch (see
// DirProblem). from and to are the roles of the copies read and written,
// for the message; command is the refused command line, for the remedy.
func fenceDirs(p *Plan, from, to, command string) error {
	if len(p.DirProblems) == 0 {
		return nil
	}
	var b strings.Builder
	fromSide, toSide := false, false
	for _, d := range p.DirProblems {
		name, role := p.From, from
		if d.From {
			fromSide = true
		} else {
			name, role, toSide = p.To, to, true
		}
		what := d.Found
		if d.Path != d.Dir {
			what = fmt.Sprintf("%s, above it, is %s", DisplayName(d.Path), d.Found)
		} else if d.Found != "missing" {
			what += ", not a directory"
		}
		fmt.Fprintf(&b, "\n    DIR %s on %s %s: %s", DisplayName(d.Dir), role, name, what)
	}
	var remedies []string
	if fromSide {
		remedies = append(remedies, fmt.Sprintf("check that %s %s is the right disk, mounted, with its DIRs; put each directory back (a symlink is never followed), or take the DIR out of the table; then run '%s' again", from, p.From, command))
	}
	if toSide {
		remedies = append(remedies, fmt.Sprintf("on %s %s move what stands there aside by hand (the tool never writes through a symlink, nor replaces a file standing for a DIR); a DIR kept on another disk is mounted there, not linked; then run '%s' again", to, p.To, command))
	}
	return refuse("dir-missing", strings.Join(remedies, "; "),
		"these DIRs are missing or not directories, so nothing is copied, deleted or trashed in any DIR:%s", b.String())
}

// commandLine is the command of the run as the admin types it, for a
// remedy: the recorded command, else verb and target.
func (o *RunOptions) commandLine(verb string) string {
	if o.Command != "" {
		return "backup " + o.Command
	}
	return "backup " + verb + " " + o.Target
}
