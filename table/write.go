package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrTableChanged is wrapped by the error WriteFile returns when the file no
// longer holds the text the table was parsed from: someone edited it in the
// meantime, and writing would lose that edit.
var ErrTableChanged = errors.New("backup table changed on disk since it was read")

// WriteFile writes Bytes to File atomically: into a temporary file in the
// same directory, which gets the old file's permission bits (0644 for a new
// file) and, where the platform has owners, its owner and group; it is
// synced, renamed over File, and the directory is synced. Readers see the
// old table or the new one, never a mix. If File is a symlink, the file it
// points to is replaced and the link kept.
//
// WriteFile refuses, with an error wrapping ErrTableChanged, when the file
// exists and does not hold the text the table was parsed from (or last
// written); on success that text becomes the new one.
func (t *Table) WriteFile() error {
	if t.File == "" {
		return errors.New("backup table: WriteFile: no file name")
	}
	target, err := filepath.EvalSymlinks(t.File)
	if errors.Is(err, fs.ErrNotExist) {
		target = t.File
	} else if err != nil {
		return fmt.Errorf("backup table: %w", err)
	}
	var old fs.FileInfo
	switch cur, err := os.ReadFile(target); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("backup table: %w", err)
	case string(cur) != t.orig:
		return fmt.Errorf("backup table %s: %w; load it again", t.File, ErrTableChanged)
	default:
		if old, err = os.Stat(target); err != nil {
			return fmt.Errorf("backup table: %w", err)
		}
	}
	data := t.Bytes()
	if err := writeAtomic(target, data, old); err != nil {
		return fmt.Errorf("writing backup table %s: %w", t.File, err)
	}
	t.orig = string(data)
	return nil
}

// writeAtomic replaces file with data through a synced temporary file in
// the same directory, keeping the mode and owner of old (nil: new file).
func writeAtomic(file string, data []byte, old fs.FileInfo) (err error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	mode := fs.FileMode(0o644)
	if old != nil {
		mode = old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if err = keepOwner(f, old); err != nil {
			return err
		}
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, file); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
