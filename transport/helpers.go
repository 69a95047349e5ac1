package transport

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/zeebo/blake3"
)

// Sum is a BLAKE3-256 content hash.
type Sum [32]byte

// String returns the hash in hex, as b3sum prints it.
func (s Sum) String() string { return hex.EncodeToString(s[:]) }

// ParseSum parses a hex BLAKE3-256 hash.
func ParseSum(text string) (Sum, error) {
	var s Sum
	b, err := hex.DecodeString(text)
	if err != nil || len(b) != len(s) {
		return s, fmt.Errorf("bad BLAKE3 sum %q", text)
	}
	copy(s[:], b)
	return s, nil
}

// HashReader returns the BLAKE3 sum of everything r yields.
func HashReader(r io.Reader) (Sum, int64, error) {
	h := blake3.New()
	n, err := io.Copy(h, r)
	var s Sum
	copy(s[:], h.Sum(nil))
	return s, n, err
}

// HashFile returns the BLAKE3 sum of regular file name, next to the data
// when fsys is a Hasher, else by reading the file through fsys.
func HashFile(fsys FS, name string) (Sum, error) {
	if h, ok := fsys.(Hasher); ok {
		return h.HashFile(name)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return Sum{}, err
	}
	defer f.Close()
	s, _, err := HashReader(f)
	if err != nil {
		return Sum{}, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return s, nil
}

// ErrNotSupported reports that an endpoint lacks an optional capability.
var ErrNotSupported = errors.New("not supported by this endpoint")

// Link makes newname a hard link to oldname when fsys is a Linker, and
// returns ErrNotSupported otherwise.
func Link(fsys FS, oldname, newname string) error {
	if l, ok := fsys.(Linker); ok {
		return l.Link(oldname, newname)
	}
	return &fs.PathError{Op: "link", Path: newname, Err: ErrNotSupported}
}

// MkdirAll creates directory name and any missing parents, like os.MkdirAll.
func MkdirAll(fsys FS, name string, perm fs.FileMode) error {
	if name == "." {
		return nil
	}
	fi, err := fsys.Lstat(name)
	if err == nil {
		if fi.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := MkdirAll(fsys, path.Dir(name), perm); err != nil {
		return err
	}
	err = fsys.Mkdir(name, perm)
	if err != nil && errors.Is(err, fs.ErrExist) {
		return nil // made meanwhile by a concurrent caller
	}
	return err
}

// RemoveAll removes name and everything below it. A missing name is not
// an error.
func RemoveAll(fsys FS, name string) error {
	fi, err := fsys.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		entries, err := fsys.ReadDir(name)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := RemoveAll(fsys, path.Join(name, e.Name)); err != nil {
				return err
			}
		}
	}
	return fsys.Remove(name)
}

// CreateFile creates the new file name with data and permission bits
// perm, synced; it fails with fs.ErrExist when name exists, and leaves
// nothing behind on error.
func CreateFile(fsys FS, name string, data []byte, perm fs.FileMode) error {
	f, err := fsys.Create(name, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = fsys.Remove(name)
	}
	return err
}

// WriteFileAtomic writes data to name through a temporary file beside it,
// synced and renamed over name, so that readers see the old or the new
// content, never a part.
func WriteFileAtomic(fsys FS, name string, data []byte, perm fs.FileMode) error {
	tmp := TempName(name)
	if err := CreateFile(fsys, tmp, data, perm); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, name); err != nil {
		_ = fsys.Remove(tmp)
		return err
	}
	return nil
}

// ReadFile reads all of regular file name.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}
