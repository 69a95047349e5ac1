package mirror

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// ManifestFile records, on a mirror, what the last complete run left there.
const ManifestFile = ".backup-manifest"

// The v3 header; v2 manifests (without the xattrs field) and v1 ones
// (without trust either) are read as well, their entries trusted and their
// attributes not recorded.
const manifestHeader = "# backup-manifest v3: type mode size mtime-ns blake3 trust xattrs path"

// Trust says how far a file's recorded size and mtime prove its content.
type Trust uint8

const (
	// Trusted: copied whole from a source file that did not change while
	// it was read, or hashed equal to it.
	Trusted Trust = iota
	// Racy: the source file had changed too shortly before it was read; a
	// second change within the same mtime tick (a second over SFTP) would
	// not show in size and mtime.
	Racy
	// Torn: the source file changed while it was copied; the copy may mix
	// old and new content.
	Torn
)

var trustNames = [...]string{"ok", "racy", "torn"}

func (t Trust) String() string { return trustNames[t] }

// ManifestEntry is one path of a manifest.
type ManifestEntry struct {
	Path    string
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	Sum     *transport.Sum // nil when not known; else the hash of what was written
	Trust   Trust          // regular files: whether size and mtime prove the content
	// Xattrs is the digest of the extended attributes (ACLs among them)
	// the run left (see xattrDigest); nil when not kept or not known.
	Xattrs *transport.Sum
}

// Manifest maps paths in scope to what the mirror held there.
type Manifest map[string]ManifestEntry

// ReadManifest reads the manifest of fsys; a missing one gives a nil
// Manifest and no error.
func ReadManifest(fsys transport.FS) (Manifest, error) {
	data, err := transport.ReadFile(fsys, ManifestFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, gzipMagic) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err == nil {
			data, err = io.ReadAll(zr)
		}
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", fsys, ManifestFile, err)
		}
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", fsys, ManifestFile, err)
	}
	return m, nil
}

// gzipMagic starts a compressed manifest: it is read on every run, over
// SFTP too, and its paths compress well (a plain one is read as well).
var gzipMagic = []byte{0x1f, 0x8b}

// ParseManifest parses the text form of a manifest.
func ParseManifest(data []byte) (Manifest, error) {
	m := Manifest{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		e, err := parseManifestLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		m[e.Path] = e
	}
	return m, sc.Err()
}

func parseManifestLine(text string) (ManifestEntry, error) {
	f := strings.Split(text, "\t")
	if len(f) == 6 { // v1: no trust field
		f = append(f[:5], "ok", f[5])
	}
	if len(f) == 7 { // v2: no xattrs field
		f = append(f[:6], "-", f[6])
	}
	if len(f) != 8 {
		return ManifestEntry{}, errors.New("want 8 tab-separated fields")
	}
	mode, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	ns, err3 := strconv.ParseInt(f[3], 10, 64)
	name, err4 := strconv.Unquote(f[7])
	trust, err5 := parseTrust(f[5])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return ManifestEntry{}, err
	}
	if !transport.ValidName(name) {
		return ManifestEntry{}, fmt.Errorf("invalid path %q", name)
	}
	e := ManifestEntry{Path: name, Mode: fs.FileMode(mode) & fs.ModePerm, Size: size, ModTime: time.Unix(0, ns), Trust: trust}
	switch f[0] {
	case "d":
		e.Mode |= fs.ModeDir
	case "l":
		e.Mode |= fs.ModeSymlink
	case "p":
		e.Mode |= fs.ModeNamedPipe
	case "s":
		e.Mode |= fs.ModeSocket
	case "c":
		e.Mode |= fs.ModeDevice | fs.ModeCharDevice
	case "b":
		e.Mode |= fs.ModeDevice
	case "f":
	default:
		return ManifestEntry{}, fmt.Errorf("unknown type %q", f[0])
	}
	var err error
	if e.Sum, err = parseOptionalSum(f[4]); err != nil {
		return ManifestEntry{}, err
	}
	if e.Xattrs, err = parseOptionalSum(f[6]); err != nil {
		return ManifestEntry{}, fmt.Errorf("xattrs: %w", err)
	}
	return e, nil
}

// parseOptionalSum parses a hash, or "-" for none.
func parseOptionalSum(text string) (*transport.Sum, error) {
	if text == "-" {
		return nil, nil
	}
	sum, err := transport.ParseSum(text)
	if err != nil {
		return nil, err
	}
	return &sum, nil
}

// optionalSum is the text form of a hash, "-" for none.
func optionalSum(sum *transport.Sum) string {
	if sum == nil {
		return "-"
	}
	return sum.String()
}

func parseTrust(s string) (Trust, error) {
	for t, name := range trustNames {
		if s == name {
			return Trust(t), nil
		}
	}
	return 0, fmt.Errorf("unknown trust %q", s)
}

// Bytes returns the text form of the manifest, entries in walk order.
func (m Manifest) Bytes(order []string) []byte {
	var b bytes.Buffer
	b.WriteString(manifestHeader + "\n")
	for _, p := range order {
		e := m[p]
		typ := "f"
		switch {
		case e.Mode.IsDir():
			typ = "d"
		case e.Mode&fs.ModeSymlink != 0:
			typ = "l"
		case e.Mode&fs.ModeNamedPipe != 0:
			typ = "p"
		case e.Mode&fs.ModeSocket != 0:
			typ = "s"
		case e.Mode&fs.ModeCharDevice != 0:
			typ = "c"
		case e.Mode&fs.ModeDevice != 0:
			typ = "b"
		}
		fmt.Fprintf(&b, "%s\t%o\t%d\t%d\t%s\t%s\t%s\t%s\n", typ, e.Mode.Perm(), e.Size, e.ModTime.UnixNano(), optionalSum(e.Sum), e.Trust, optionalSum(e.Xattrs), strconv.Quote(e.Path))
	}
	return b.Bytes()
}

// Changed compares the mirror as it is now (entries, in scope, and the
// digests of the attributes read of them, by path) with the manifest and
// returns the paths changed outside the tool: added, removed, or with
// another type, size, mtime, mode or attributes. Directories count for
// presence, type, mode and attributes only, as their mtime follows their
// contents.
func (m Manifest) Changed(now []Entry, xattrs map[string]transport.Sum) []string {
	var changed []string
	seen := make(map[string]bool, len(now))
	for _, e := range now {
		seen[e.Path] = true
		old, ok := m[e.Path]
		switch {
		case !ok:
			changed = append(changed, "added: "+e.Path)
		case old.Mode.Type() != e.Mode.Type() || old.Mode.Perm() != e.Mode.Perm():
			changed = append(changed, "changed: "+e.Path)
		case xattrsChanged(old.Xattrs, xattrs, e.Path):
			changed = append(changed, "attributes changed: "+e.Path)
		case e.IsDir():
		case (e.IsRegular() && old.Size != e.Size) || !sameTime(old.ModTime, e.ModTime):
			changed = append(changed, "changed: "+e.Path)
		}
	}
	for p := range m {
		if !seen[p] {
			changed = append(changed, "removed: "+p)
		}
	}
	return changed
}

// xattrsChanged reports whether the attributes read of path p differ from
// those recorded (nothing is known when either is missing).
func xattrsChanged(recorded *transport.Sum, now map[string]transport.Sum, p string) bool {
	sum, ok := now[p]
	return recorded != nil && ok && sum != *recorded
}

// Matches reports whether entry e is as the manifest recorded it.
func (m Manifest) Matches(e Entry) bool {
	old, ok := m[e.Path]
	return ok && e.IsRegular() && old.Mode == e.Mode&(fs.ModeType|fs.ModePerm) && old.Size == e.Size && sameTime(old.ModTime, e.ModTime)
}

// Untrusted returns the regular files whose size and mtime do not prove
// their content (Racy, Torn): the next run compares them by content.
func (m Manifest) Untrusted() map[string]bool {
	out := map[string]bool{}
	for p, e := range m {
		if e.Trust != Trusted {
			out[p] = true
		}
	}
	return out
}

// writeManifest records m as the mirror's manifest, in walk order.
func writeManifest(fsys transport.FS, m Manifest) error {
	order := make([]string, 0, len(m))
	for p := range m {
		order = append(order, p)
	}
	slices.SortFunc(order, comparePaths)
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
	if _, err := zw.Write(m.Bytes(order)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return transport.WriteFileAtomic(fsys, ManifestFile, zb.Bytes(), 0o644)
}
