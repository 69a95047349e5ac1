package transport

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// FSSyncer is an FS that commits to stable storage, in one call, all data
// written to the filesystems holding the directories dirs (syncfs(2)).
// Many files written without an fsync each, then one SyncFS, then their
// renames: each file gets the guarantee of a per-file fsync (after a crash
// its real name holds the old content or the new, never a part) for one
// request instead of one per file. An FS that cannot at the moment returns
// an error; the engine then syncs file by file.
type FSSyncer interface {
	SyncFS(dirs ...string) error
}

var (
	_ FSSyncer = (*Local)(nil)
	_ FSSyncer = (*sftpFS)(nil)
)

// SyncFS calls syncfs(2) on each directory (through the root, without
// following a final symlink). Directories on one filesystem cost one real
// flush; the others find nothing dirty.
func (l *Local) SyncFS(dirs ...string) error {
	for _, dir := range dirs {
		if err := check("syncfs", dir); err != nil {
			return err
		}
		d, err := l.openDir(dir)
		if err != nil {
			return err
		}
		err = unix.Syncfs(int(d.Fd()))
		d.Close()
		if err != nil {
			return &fs.PathError{Op: "syncfs", Path: dir, Err: err}
		}
	}
	return nil
}

// SyncFS runs "sync -f" (GNU coreutils: syncfs) on the host for the
// directories, in one command.
func (f *sftpFS) SyncFS(dirs ...string) error {
	if len(dirs) == 0 {
		return nil
	}
	args := make([]string, 0, len(dirs))
	for _, dir := range dirs {
		if err := f.begin("syncfs", dir); err != nil {
			return err
		}
		args = append(args, shellQuote(f.abs(dir)))
	}
	out, err := f.c.output("sync -f -- " + strings.Join(args, " ") + " </dev/null")
	if err != nil {
		return &fs.PathError{Op: "syncfs", Path: dirs[0], Err: errors.Join(err, errors.New(strings.TrimSpace(string(out))))}
	}
	return nil
}

// SyncFS commits the filesystems holding dirs when fsys is an FSSyncer,
// and returns an error wrapping ErrNotSupported otherwise.
func SyncFS(ctx context.Context, fsys FS, dirs ...string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s, ok := fsys.(FSSyncer); ok {
		return s.SyncFS(dirs...)
	}
	return &fs.PathError{Op: "syncfs", Path: ".", Err: ErrNotSupported}
}
