package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
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
	// name. Symlinks are not followed. When parts of the tree cannot be
	// read (a directory without permission), it returns every entry it
	// could read together with an error joining one *fs.PathError per
	// unreadable entry (errors.Join; the entry itself is listed, what is
	// below it is not): the listing is then incomplete, and the caller
	// must not take a missing entry for a deleted one. An FS that cannot
	// list trees at the moment fails with an error wrapping
	// ErrNotSupported (walk with ReadDir then).
	ListTree(dir string) ([]TreeEntry, error)
}

var _ TreeLister = (*sftpFS)(nil)

// findFormat prints findFields NUL-terminated fields per entry; only the
// path and the link target can hold arbitrary bytes, and none can hold
// NUL. Link count, device and inode (%n %D %i) let hard links be kept.
const findFormat = `%y\0%m\0%s\0%T@\0%U\0%G\0%P\0%l\0%n\0%D\0%i\0`

const findFields = 11

// ListTree implements TreeLister with "find -P dir -mindepth 1 -printf" on
// the host, in the C locale so that its messages have one form. Times are
// whole seconds (floor), as Lstat gives them, and not bound to SFTP's
// 1970-2106. Find exits with status 1 when it could not read some entries
// and lists the rest: those entries are parsed from its messages.
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
	line := "cd -- " + shellQuote(f.root) + " && LC_ALL=C exec find -P " + shellQuote("./"+dir) +
		" -mindepth 1 -printf " + shellQuote(findFormat) + " </dev/null"
	var out, errb bytes.Buffer
	err := f.c.exec(context.Background(), f.c.shell(line), &out, &errb)
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return parseFind(dir, out.Bytes(), nil)
	case errors.As(err, &ee) && ee.ExitStatus() == 1 && (out.Len() > 0 || findSaid(errb.String())):
		return parseFind(dir, out.Bytes(), errb.Bytes())
	}
	if msg := strings.TrimSpace(errb.String()); msg != "" {
		err = &execError{err: err, stderr: msg}
	}
	return nil, f.pathErr("listtree", dir, err)
}

// parseFind parses the output of find with findFormat below dir, and the
// messages it wrote to stderr when it exited with status 1 (stderr not
// nil). It returns what could be read, and an error naming what could
// not: each message, a line that is not an entry, output cut short.
func parseFind(dir string, out, stderr []byte) ([]TreeEntry, error) {
	fields := strings.Split(string(out), "\x00")
	complete := (len(fields) - 1) / findFields // the last element follows the final NUL
	var errs []error
	if len(fields)%findFields != 1 || fields[len(fields)-1] != "" {
		errs = append(errs, &fs.PathError{Op: "listtree", Path: dir, Err: fmt.Errorf("%w: find output cut short", errBadName)})
	}
	entries := make([]TreeEntry, 0, complete)
	for i := 0; i < complete*findFields; i += findFields {
		e, err := findEntry(dir, fields[i:i+findFields])
		if err != nil {
			errs = append(errs, &fs.PathError{Op: "listtree", Path: dir, Err: err})
			continue
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b TreeEntry) int { return ComparePaths(a.Path, b.Path) })
	if stderr != nil {
		errs = append(errs, findErrors(dir, stderr)...)
	}
	return entries, errors.Join(errs...)
}

func findEntry(dir string, f []string) (TreeEntry, error) {
	rel := f[6]
	if rel == "." || !ValidName(rel) {
		return TreeEntry{}, fmt.Errorf("%w: %q", errBadName, rel)
	}
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	sec, err3 := floorSeconds(f[3])
	uid, err4 := strconv.Atoi(f[4])
	gid, err5 := strconv.Atoi(f[5])
	nlink, err6 := strconv.ParseUint(f[8], 10, 64)
	dev, err7 := strconv.ParseUint(f[9], 10, 64)
	ino, err8 := strconv.ParseUint(f[10], 10, 64)
	typ, ok := findTypes[f[0]]
	if errors.Join(err1, err2, err3, err4, err5, err6, err7, err8) != nil || !ok {
		return TreeEntry{}, fmt.Errorf("%w: bad find line for %q", errBadName, rel)
	}
	mode := typ | fs.FileMode(perm)&fs.ModePerm
	for bit, m := range map[uint64]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if perm&bit != 0 {
			mode |= m
		}
	}
	e := TreeEntry{
		Path: path.Join(dir, rel),
		FileInfo: FileInfo{Name: path.Base(rel), Mode: mode, Size: size, ModTime: time.Unix(sec, 0), UID: uid, GID: gid,
			Nlink: nlink, Dev: dev, Ino: ino},
	}
	if typ == fs.ModeSymlink {
		e.Link = f[7]
	}
	return e, nil
}

// floorSeconds reads find's %T@ ("-1.5000000000") as whole seconds,
// rounded down as a Unix time is: -1.5 is in second -2, not -1.
func floorSeconds(t string) (int64, error) {
	secs, frac, _ := strings.Cut(t, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err == nil && strings.HasPrefix(secs, "-") && strings.Trim(frac, "0") != "" {
		sec--
	}
	return sec, err
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

// findErrors turns find's messages (LC_ALL=C: "find: './dir/sub':
// Permission denied", the name quoted as GNU quotearg does) into one
// *fs.PathError per line, with the name relative to the root where it
// can be read back, else the whole line under dir.
func findErrors(dir string, stderr []byte) []error {
	var errs []error
	for _, line := range strings.Split(string(stderr), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		name, msg, ok := parseFindMessage(line)
		if !ok {
			errs = append(errs, &fs.PathError{Op: "listtree", Path: dir, Err: errors.New(line)})
			continue
		}
		var err error
		switch msg {
		case "Permission denied": // in the words a local walk gives
			err = fs.ErrPermission
		case "No such file or directory": // gone while find read it
			err = fs.ErrNotExist
		default:
			err = errors.New(msg)
		}
		errs = append(errs, &fs.PathError{Op: "listtree", Path: name, Err: err})
	}
	if len(errs) == 0 {
		errs = append(errs, &fs.PathError{Op: "listtree", Path: dir, Err: errors.New("find exited with status 1 and said nothing")})
	}
	return errs
}

// findSaid reports whether stderr starts with a message of find about an
// entry (and not, say, of the shell that could not cd).
func findSaid(stderr string) bool {
	line, _, _ := strings.Cut(stderr, "\n")
	_, _, ok := parseFindMessage(line)
	return ok
}

// parseFindMessage splits "find: 'NAME': MESSAGE" ("/usr/bin/find: ..."
// when run by its path) into the name relative
// to the root (valid, below the root) and the message.
func parseFindMessage(line string) (name, msg string, ok bool) {
	prog, rest, ok := strings.Cut(line, ": '") // "find", or its path
	if !ok || path.Base(prog) != "find" || strings.ContainsAny(prog, " :") {
		return "", "", false
	}
	quoted, rest, ok := unquoteC(rest)
	if !ok {
		return "", "", false
	}
	msg, ok = strings.CutPrefix(rest, ": ")
	name = path.Clean(quoted)
	if !ok || !ValidName(name) || name == "." {
		return "", "", false
	}
	return name, msg, true
}

// unquoteC reads a name quoted by GNU quotearg in the C locale, the
// opening quote already read: up to the closing ', with backslash escapes
// \\ \' \" \? \a \b \f \n \r \t \v and up to three octal digits. It
// returns the name's bytes and what follows the closing quote.
func unquoteC(s string) (name, rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			return b.String(), s[i+1:], true
		case c != '\\':
			b.WriteByte(c)
		case i+1 == len(s):
			return "", "", false
		case s[i+1] >= '0' && s[i+1] <= '7':
			v, j := 0, i+1
			for ; j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7'; j++ {
				v = v*8 + int(s[j]-'0')
			}
			if v > 0xff {
				return "", "", false
			}
			b.WriteByte(byte(v))
			i = j - 1
		default:
			v, known := cEscapes[s[i+1]]
			if !known {
				return "", "", false
			}
			b.WriteByte(v)
			i++
		}
	}
	return "", "", false
}

var cEscapes = map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', '?': '?',
	'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
