package transport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/zeebo/blake3"
)

// BlockHasher is an FS that hashes fixed-size blocks of a file next to the
// data: a large file that changed in place is compared block by block, and
// only the blocks that differ travel (the delta transfer).
type BlockHasher interface {
	// HashBlocks returns the BLAKE3 sums of the blocks of regular file
	// name, size bytes each (the last one shorter), in order. An FS that
	// cannot at the moment fails with an error wrapping ErrNotSupported.
	HashBlocks(name string, size int64) ([]Sum, error)
}

// Patcher is an FS that copies a file next to the data and lets parts of
// the copy be overwritten: the delta transfer builds the new file from the
// old one and the changed blocks.
type Patcher interface {
	// CloneFile copies regular file oldname to newname, which must not
	// exist, on the endpoint itself (a reflink where the filesystem can).
	CloneFile(oldname, newname string) error
	// OpenPatch opens regular file name for writing at offsets, without
	// truncating it and without following a final symlink.
	OpenPatch(name string) (PatchFile, error)
}

// PatchFile is a file opened by Patcher.OpenPatch.
type PatchFile interface {
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	io.Closer
}

// HashBlocksOf hashes r in blocks of size bytes.
func HashBlocksOf(r io.Reader, size int64) ([]Sum, error) {
	var sums []Sum
	buf := make([]byte, size)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			sums = append(sums, Sum(blake3.Sum256(buf[:n])))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return sums, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

var (
	_ BlockHasher = (*Local)(nil)
	_ Patcher     = (*Local)(nil)
	_ BlockHasher = (*sftpFS)(nil)
	_ Patcher     = (*sftpFS)(nil)
)

func (l *Local) HashBlocks(name string, size int64) ([]Sum, error) {
	f, err := l.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums, err := HashBlocksOf(f, size)
	if err != nil {
		return nil, &fs.PathError{Op: "hash", Path: name, Err: err}
	}
	return sums, nil
}

func (l *Local) CloneFile(oldname, newname string) error {
	r, err := l.Open(oldname)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := l.root.OpenFile(newname, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r) // copy_file_range: a reflink where the filesystem can
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = l.root.Remove(newname)
		return &fs.PathError{Op: "clone", Path: newname, Err: err}
	}
	return nil
}

func (l *Local) OpenPatch(name string) (PatchFile, error) {
	if err := check("patch", name); err != nil {
		return nil, err
	}
	return l.root.OpenFile(name, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
}

// HashBlocks runs "backup blocks" on the host; a host without this tool
// gives ErrNotSupported (b3sum cannot hash blocks).
func (f *sftpFS) HashBlocks(name string, size int64) ([]Sum, error) {
	if err := f.parent("hash", name); err != nil {
		return nil, err
	}
	line := fmt.Sprintf("cd -- %s && exec backup blocks --size %d -- %s </dev/null", shellQuote(f.root), size, shellQuote("./"+name))
	out, err := f.c.output(f.c.shell(line))
	if err != nil {
		if !f.c.alive() {
			return nil, f.pathErr("hash", name, err)
		}
		return nil, &fs.PathError{Op: "hash", Path: name, Err: errors.Join(ErrNotSupported, err)}
	}
	var sums []Sum
	for _, l := range strings.Fields(string(out)) {
		s, err := ParseSum(l)
		if err != nil {
			return nil, &fs.PathError{Op: "hash", Path: name, Err: err}
		}
		sums = append(sums, s)
	}
	return sums, nil
}

// CloneFile runs "cp" on the host (a reflink where the filesystem can;
// -P: a symlink would be copied as one, never followed), then makes sure
// the copy is a regular file.
func (f *sftpFS) CloneFile(oldname, newname string) error {
	if err := f.parent("clone", oldname); err != nil {
		return err
	}
	if err := f.entry("clone", newname); err != nil {
		return err
	}
	line := fmt.Sprintf("cd -- %s && exec cp -P --reflink=auto -- %s %s </dev/null", shellQuote(f.root), shellQuote("./"+oldname), shellQuote("./"+newname))
	if _, err := f.c.output(line); err != nil {
		_ = f.c.sftp.Remove(f.abs(newname))
		return f.pathErr("clone", newname, err)
	}
	fi, err := f.c.sftp.Lstat(f.abs(newname))
	if err != nil || !fi.Mode().IsRegular() {
		_ = f.c.sftp.Remove(f.abs(newname))
		return &fs.PathError{Op: "clone", Path: newname, Err: fmt.Errorf("not a regular file after cp: %w", errors.Join(err, fs.ErrInvalid))}
	}
	f.c.tmp.add(f.abs(newname))
	return nil
}

func (f *sftpFS) OpenPatch(name string) (PatchFile, error) {
	abs, link, err := f.unfollowed("patch", name)
	if err != nil {
		return nil, err
	}
	if link {
		return nil, &fs.PathError{Op: "patch", Path: name, Err: errLoop}
	}
	file, err := f.c.sftp.OpenFile(abs, os.O_WRONLY)
	if err != nil {
		return nil, f.pathErr("patch", name, err)
	}
	return file, nil
}
