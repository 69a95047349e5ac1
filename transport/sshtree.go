package transport

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TreeEntry is one entry of a tree listing.
type TreeEntry struct {
	Path string // slash-separated, relative to the FS's root
	FileInfo
	Link string // the target, for a symlink
}

// TreeLister is an FS that lists a whole tree in one request, instead of
// a round trip per directory (an SFTP FS whose host has GNU find).
type TreeLister interface {
	// ListTree returns everything below directory dir (not dir itself),
	// each entry as Lstat would give it plus the target of symlinks, in
	// walk order: depth first, the entries of each directory sorted by
	// name. Symlinks are not followed. When any part of the tree cannot be
	// read it fails, with no partial listing; an FS that cannot list
	// trees at the moment fails with an error wrapping ErrNotSupported
	// (walk with ReadDir then).
	ListTree(dir string) ([]TreeEntry, error)
}

var _ TreeLister = (*sftpFS)(nil)

// findFormat prints eight NUL-terminated fields per entry; only the path
// and the link target can hold arbitrary bytes, and none can hold NUL.
const findFormat = `%y\0%m\0%s\0%T@\0%U\0%G\0%P\0%l\0`

// ListTree implements TreeLister with "find -P dir -mindepth 1 -printf" on
// the host. Times are truncated to the second, as Lstat gives them.
func (f *sftpFS) ListTree(dir string) ([]TreeEntry, error) {
	if err := f.begin("listtree", dir); err != nil {
		return nil, err
	}
	if err := f.checkDir("listtree", dir); err != nil {
		return nil, err
	}
	if f.c.probe(); !f.c.gnuFind {
		return nil, &fs.PathError{Op: "listtree", Path: dir, Err: ErrNotSupported}
	}
	line := "cd -- " + shellQuote(f.root) + " && exec find -P " + shellQuote("./"+dir) +
		" -mindepth 1 -printf " + shellQuote(findFormat) + " </dev/null"
	var out, errb bytes.Buffer
	if err := f.c.exec(context.Background(), f.c.shell(line), &out, &errb); err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			err = &execError{err: err, stderr: msg}
		}
		return nil, f.pathErr("listtree", dir, err)
	}
	entries, err := parseFind(dir, out.Bytes())
	if err != nil {
		return nil, &fs.PathError{Op: "listtree", Path: dir, Err: err}
	}
	return entries, nil
}

// parseFind parses the output of find with findFormat below dir.
func parseFind(dir string, out []byte) ([]TreeEntry, error) {
	fields := strings.Split(string(out), "\x00")
	if len(fields)%8 != 1 || fields[len(fields)-1] != "" {
		return nil, fmt.Errorf("%w: find output cut short", errBadName)
	}
	entries := make([]TreeEntry, 0, len(fields)/8)
	for i := 0; i+8 <= len(fields); i += 8 {
		e, err := findEntry(dir, fields[i:i+8])
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b TreeEntry) int { return ComparePaths(a.Path, b.Path) })
	return entries, nil
}

func findEntry(dir string, f []string) (TreeEntry, error) {
	rel := f[6]
	if rel == "." || !ValidName(rel) {
		return TreeEntry{}, fmt.Errorf("%w: %q", errBadName, rel)
	}
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	secs, _, _ := strings.Cut(f[3], ".")
	sec, err3 := strconv.ParseInt(secs, 10, 64)
	uid, err4 := strconv.Atoi(f[4])
	gid, err5 := strconv.Atoi(f[5])
	typ, ok := findTypes[f[0]]
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || !ok {
		return TreeEntry{}, fmt.Errorf("%w: bad find line for %q", errBadName, rel)
	}
	mode := typ | fs.FileMode(perm)&fs.ModePerm
	for bit, m := range map[uint64]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if perm&bit != 0 {
			mode |= m
		}
	}
	e := TreeEntry{
		Path:     path.Join(dir, rel),
		FileInfo: FileInfo{Name: path.Base(rel), Mode: mode, Size: size, ModTime: time.Unix(sec, 0), UID: uid, GID: gid},
	}
	if typ == fs.ModeSymlink {
		e.Link = f[7]
	}
	return e, nil
}

var findTypes = map[string]fs.FileMode{
	"f": 0, "d": fs.ModeDir, "l": fs.ModeSymlink, "p": fs.ModeNamedPipe,
	"s": fs.ModeSocket, "c": fs.ModeDevice | fs.ModeCharDevice, "b": fs.ModeDevice,
}

// ComparePaths orders slash paths in walk order: element by element, so a
// directory comes right before its contents and "a/b" before "a.b".
func ComparePaths(a, b string) int {
	for {
		ea, ra, moreA := strings.Cut(a, "/")
		eb, rb, moreB := strings.Cut(b, "/")
		if c := strings.Compare(ea, eb); c != 0 {
			return c
		}
		switch {
		case !moreA && !moreB:
			return 0
		case !moreA:
			return -1
		case !moreB:
			return 1
		}
		a, b = ra, rb
	}
}
