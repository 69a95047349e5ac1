package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// TrashDir is the directory, at a copy's root, that receives what a run
// deletes or replaces there, one subdirectory per run.
const TrashDir = ".backup-trash"

// trashStampFormat names a run's trash directory by its start time, UTC.
const trashStampFormat = "20060102T150405Z"

// Trash moves deleted and replaced entries of one copy into
// .backup-trash/<run time>/<path> on the same copy: a rename, so nothing is
// lost until the retention prunes it. Safe for concurrent use.
type Trash struct {
	fsys transport.FS
	dir  string // .backup-trash/<stamp>
	mu   sync.Mutex
	made map[string]bool // trash directories known to exist
}

// NewTrash returns the trash of fsys for a run started at start.
func NewTrash(fsys transport.FS, start time.Time) *Trash {
	return &Trash{fsys: fsys, dir: path.Join(TrashDir, start.UTC().Format(trashStampFormat)), made: map[string]bool{}}
}

// Dir returns the run's trash directory, relative to the copy's root.
func (t *Trash) Dir() string { return t.dir }

// maxSlots bounds the search for a free trash name: a path put more often
// than this in one run is an error, never a loop.
const maxSlots = 1000

// slot returns the free name in the trash for p, creating its parents. The
// same path may be put twice in one run (set aside, then replaced), or by
// two runs started within the same second: a later one goes to a sibling
// run directory, "<stamp>+N/<p>", so that the name itself never grows
// (a 255-byte name has no room for a suffix). Any error but "does not
// exist" from Lstat fails: a slot that cannot be checked is never taken.
func (t *Trash) slot(p string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for n := 0; n < maxSlots; n++ {
		dir := t.dir
		if n > 0 {
			dir = fmt.Sprintf("%s+%d", t.dir, n)
		}
		dst := path.Join(dir, p)
		d := path.Dir(dst)
		if !t.made[d] {
			err := transport.MkdirAll(t.fsys, d, 0o700)
			if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR) {
				continue // a file of an earlier put stands where a directory is needed
			}
			if err != nil {
				return "", fmt.Errorf("trash: %w", err)
			}
			t.made[d] = true
		}
		_, err := t.fsys.Lstat(dst)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return dst, nil
		case err != nil:
			return "", fmt.Errorf("trash: %w", err)
		}
	}
	return "", fmt.Errorf("trash: %s: no free slot after %d tries", p, maxSlots)
}

// Put moves p (a file, link or whole directory) into the trash.
func (t *Trash) Put(p string) error {
	dst, err := t.slot(p)
	if err != nil {
		return err
	}
	return t.fsys.Rename(p, dst)
}

// Keep puts a hard link to file p into the trash, so that its content
// survives when p is renamed over; it returns transport.ErrNotSupported
// (wrapped) when the copy cannot link, and the caller moves p instead.
func (t *Trash) Keep(p string) error {
	dst, err := t.slot(p)
	if err != nil {
		return err
	}
	return transport.Link(t.fsys, p, dst)
}

// PruneTrash removes the run directories in the trash of fsys that are
// older than retention, and returns their names.
func PruneTrash(fsys transport.FS, retention time.Duration, now time.Time) ([]string, error) {
	runs, err := fsys.ReadDir(TrashDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pruned []string
	for _, r := range runs {
		name, _, _ := strings.Cut(r.Name, "+") // "<stamp>+N": a later slot of the same run
		stamp, err := time.Parse(trashStampFormat, name)
		if err != nil || now.Sub(stamp) <= retention {
			continue // not ours, or still kept
		}
		if err := transport.RemoveAll(fsys, path.Join(TrashDir, r.Name)); err != nil {
			return pruned, err
		}
		pruned = append(pruned, r.Name)
	}
	return pruned, nil
}
