package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/zeebo/blake3"

	"github.com/mirrorfence/mirrorfence/transport"
)

// copyBufferSize is the chunk a file is copied in.
const copyBufferSize = 1 << 20

// errChanged reports a source file that changed while it was copied.
var errChanged = errors.New("changed while it was copied")

// copyFile copies one regular file so that it arrives whole: written to a
// temporary name beside it, synced, owner, mode and mtime set, then renamed
// over the real name. A source file that changes during the copy is copied
// again, up to opt.Retries times; after that the last copy stays with the
// mtime seen before it, so that the next run copies it again, and a warning
// says so.
func (ap *applier) copyFile(ctx context.Context, a *Action) error {
	var last error
	for attempt := 0; attempt < ap.opt.Retries; attempt++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		before, err := ap.src.Lstat(a.Path)
		if errors.Is(err, fs.ErrNotExist) {
			ap.warn("%s: vanished from the source before it was copied", a.Path)
			return nil
		}
		if err != nil {
			return err
		}
		if !before.IsRegular() {
			ap.warn("%s: is no longer a regular file on the source; left for the next run", a.Path)
			return nil
		}
		tmp, n, sum, err := ap.copyToTemp(a.Path)
		if err != nil {
			return err
		}
		after, err := ap.src.Lstat(a.Path)
		changed := err != nil || n != before.Size || after.Size != before.Size || !after.ModTime.Equal(before.ModTime)
		if changed && attempt+1 < ap.opt.Retries {
			_ = ap.dst.Remove(tmp)
			last = errChanged
			continue
		}
		if changed {
			ap.warn("%s: %v %d times; the copy may be inconsistent and will be redone by the next run", a.Path, errChanged, ap.opt.Retries)
		}
		if err := ap.install(tmp, a, before); err != nil {
			_ = ap.dst.Remove(tmp)
			return err
		}
		ap.mu.Lock()
		ap.res.Files++
		ap.res.Bytes += n
		if !changed {
			ap.res.Sums[a.Path] = sum
		}
		ap.mu.Unlock()
		ap.opt.Progress.Files.Add(1)
		return nil
	}
	return last
}

// copyToTemp writes the content of source file p to a fresh temporary name
// beside p on the destination, synced, and returns that name and the bytes
// written. On error nothing is left behind.
func (ap *applier) copyToTemp(p string) (tmp string, n int64, sum transport.Sum, err error) {
	r, err := ap.src.Open(p)
	if err != nil {
		return "", 0, sum, err
	}
	defer r.Close()
	tmp = transport.TempName(p)
	w, err := ap.dst.Create(tmp, 0o600)
	if err != nil {
		return "", 0, sum, err
	}
	// The content is hashed on its way, for the manifest; the source's
	// WriterTo (concurrent reads over SFTP) is kept, and the large buffer
	// lets a remote writer send many packets at once.
	h := blake3.New()
	buf := make([]byte, copyBufferSize)
	n, err = io.CopyBuffer(io.MultiWriter(w, h), r, buf)
	ap.opt.Progress.Bytes.Add(n)
	copy(sum[:], h.Sum(nil))
	if err != nil {
		err = fmt.Errorf("copy %s: %w", p, err)
	} else {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = ap.dst.Remove(tmp)
		return "", 0, sum, err
	}
	return tmp, n, sum, nil
}

// install gives the temporary file the source's metadata and renames it
// over the real name, keeping the replaced content in the trash.
func (ap *applier) install(tmp string, a *Action, src transport.FileInfo) error {
	s := Entry{Path: a.Path, FileInfo: src}
	if err := ap.setMeta(tmp, &s, ChangePerm|ChangeOwner|ChangeTime); err != nil {
		return err
	}
	if a.Op == OpUpdate && ap.opt.Trash != nil {
		if err := ap.keepOld(a.Path); err != nil {
			return err
		}
	}
	ap.touch(a.Path)
	return ap.dst.Rename(tmp, a.Path)
}

// keepOld keeps the content about to be replaced in the trash: a hard link
// where the copy can make one (the real name never goes missing), a move
// otherwise.
func (ap *applier) keepOld(p string) error {
	err := ap.opt.Trash.Keep(p)
	if errors.Is(err, transport.ErrNotSupported) {
		err = ap.opt.Trash.Put(p)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone meanwhile: nothing to keep
	}
	return err
}

// symlink makes a symlink under a temporary name and renames it over the
// real name; the target is copied as it is, never followed.
func (ap *applier) symlink(a *Action) error {
	tmp := transport.TempName(a.Path)
	if err := ap.dst.Symlink(a.Src.Link, tmp); err != nil {
		return err
	}
	s := *a.Src
	if err := ap.setMeta(tmp, &s, ChangeOwner|ChangeTime); err != nil {
		_ = ap.dst.Remove(tmp)
		return err
	}
	if a.Dst != nil && ap.opt.Trash != nil {
		if err := ap.keepOld(a.Path); err != nil {
			_ = ap.dst.Remove(tmp)
			return err
		}
	}
	ap.touch(a.Path)
	if err := ap.dst.Rename(tmp, a.Path); err != nil {
		_ = ap.dst.Remove(tmp)
		return err
	}
	ap.mu.Lock()
	ap.res.Links++
	ap.mu.Unlock()
	return nil
}
