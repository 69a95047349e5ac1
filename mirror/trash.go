package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
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

// slot returns the free name in the trash for p, creating its parents.
func (t *Trash) slot(p string) (string, error) {
	dst := path.Join(t.dir, p)
	t.mu.Lock()
	defer t.mu.Unlock()
	d := path.Dir(dst)
	if !t.made[d] {
		if err := transport.MkdirAll(t.fsys, d, 0o700); err != nil {
			return "", fmt.Errorf("trash: %w", err)
		}
		t.made[d] = true
	}
	// The same path may be put twice in one run (set aside, then replaced).
	for n := 1; ; n++ {
		if _, err := t.fsys.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			return dst, nil
		}
		dst = fmt.Sprintf("%s.%d", path.Join(t.dir, p), n)
	}
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
		stamp, err := time.Parse(trashStampFormat, r.Name)
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
