package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"github.com/mirrorfence/mirrorfence/transport"
)

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
		before.ModTime = unwrapTime(before.ModTime, a.Src.ModTime)
		tmp, n, sum, hashed, err := ap.transferToTemp(a, before)
		if err != nil {
			return err
		}
		after, err := ap.src.Lstat(a.Path)
		readEnd := time.Now()
		if err == nil {
			after.ModTime = unwrapTime(after.ModTime, a.Src.ModTime)
		}
		// A delta (not hashed) moved only the changed blocks: n is not the size.
		short := hashed && n != before.Size
		changed := err != nil || short || after.Size != before.Size || !after.ModTime.Equal(before.ModTime)
		if changed && attempt+1 < ap.opt.Retries {
			_ = ap.dst.Remove(tmp)
			last = errChanged
			continue
		}
		trust := Trusted
		switch {
		case changed:
			trust = Torn
			ap.warn("%s: %v %d times; the copy may be inconsistent and will be redone by the next run", DisplayName(a.Path), errChanged, ap.opt.Retries)
		case racy(before.ModTime, readEnd):
			trust = Racy
		}
		if err := ap.prepareInstall(tmp, before); err != nil {
			_ = ap.dst.Remove(tmp)
			return err
		}
		if err := ap.setNewXattrs(tmp, a.Path); err != nil {
			_ = ap.dst.Remove(tmp)
			return err
		}
		w := Written{Info: before, Trust: trust}
		w.Info.Size = n
		if hashed {
			w.Sum = &sum
		} else {
			w.Info.Size = before.Size // a delta was checked against the source's blocks
		}
		done := installed{tmp: tmp, a: a, n: n, written: w}
		if ap.commit != nil {
			return ap.commit.add(ctx, done)
		}
		return ap.finishInstall(done)
	}
	return last
}

// transferToTemp brings the source's content to a temporary file: as a
// delta where that applies and works, else whole. hashed says whether sum
// is the content's BLAKE3 (a delta does not compute it).
func (ap *applier) transferToTemp(a *Action, fi transport.FileInfo) (tmp string, n int64, sum transport.Sum, hashed bool, err error) {
	if ap.deltaPossible(a) {
		tmp, n, err = ap.copyDelta(a.Path, fi)
		if err == nil || !errors.Is(err, errNoDelta) {
			return tmp, n, sum, false, err
		}
	}
	tmp, n, sum, err = ap.copyToTemp(a.Path, fi)
	return tmp, n, sum, true, err
}

// copyToTemp writes the content of source file p to a fresh temporary name
// beside p on the destination, created with the source's permission bits,
// synced, and returns that name, the bytes written and their BLAKE3 sum. On
// error nothing is left behind.
func (ap *applier) copyToTemp(p string, fi transport.FileInfo) (tmp string, n int64, sum transport.Sum, err error) {
	r, err := ap.src.Open(p)
	if err != nil {
		return "", 0, sum, err
	}
	defer r.Close()
	tmp = ap.tempName(p)
	w, err := ap.dst.Create(tmp, fi.Mode.Perm())
	if err != nil {
		return "", 0, sum, err
	}
	h := blake3.New()
	if hw, ok := w.(transport.HoleWriter); ok && fi.Size > smallFile && !ap.opt.KeepZeros {
		n, err = copySparse(hw, r, h)
	} else {
		n, err = copyHashing(w, r, h, fi.Size)
	}
	ap.opt.Progress.Bytes.Add(n)
	copy(sum[:], h.Sum(nil))
	switch {
	case err != nil:
		err = fmt.Errorf("copy %s: %w", p, err)
	case ap.commit == nil: // else synced with its batch, before the rename
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

// smallFile is the size up to which a file is read whole into a pooled
// buffer and written with one call: one request over SFTP, no per-file
// allocation.
const smallFile = 256 << 10

var smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallFile+1); return &b }}

// copyHashing copies r to w and feeds h on the way, choosing the path that
// keeps each side's fast transfer: small files in one write; a remote
// writer's concurrent ReadFrom (writes in flight while the source is read
// and hashed); else the reader's WriterTo (concurrent reads over SFTP, or
// the local file's own copy loop).
func copyHashing(w io.Writer, r io.Reader, h io.Writer, size int64) (int64, error) {
	if size <= smallFile {
		bp := smallBuffers.Get().(*[]byte)
		defer smallBuffers.Put(bp)
		// One byte more than the size, to notice a file that grew.
		n, err := io.ReadFull(r, (*bp)[:size+1])
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
		if n > int(size) { // grew while read: copy it whole the slow way
			return copyStream(w, io.MultiReader(bytes.NewReader((*bp)[:n]), r), h)
		}
		h.Write((*bp)[:n])
		m, err := w.Write((*bp)[:n])
		return int64(m), err
	}
	return copyStream(w, r, h)
}

func copyStream(w io.Writer, r io.Reader, h io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		if _, local := w.(*os.File); !local {
			return rf.ReadFrom(io.TeeReader(r, h))
		}
	}
	if wt, ok := r.(io.WriterTo); ok {
		return wt.WriteTo(io.MultiWriter(w, h))
	}
	bp := smallBuffers.Get().(*[]byte)
	defer smallBuffers.Put(bp)
	return io.CopyBuffer(io.MultiWriter(w, h), r, *bp)
}

// prepareInstall gives the temporary file the source's owner and mtime
// (its mode it got when created; again where set-id bits would not
// survive a chown).
func (ap *applier) prepareInstall(tmp string, src transport.FileInfo) error {
	s := Entry{Path: tmp, FileInfo: src}
	why := ChangeTime
	if ap.p.Options.Owners && !ap.ownedLikeNew(parent(tmp), src) {
		why |= ChangeOwner
	}
	if src.Mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		why |= ChangePerm // Create set the permission bits only
	}
	return ap.setMeta(tmp, &s, why)
}

// installed is a file copied to its temporary name, ready to be renamed.
type installed struct {
	tmp     string
	a       *Action
	n       int64   // bytes transferred
	written Written // what the real name will hold
}

// racyWindow is how close to the moment it was read a file's mtime must
// be for its size and mtime to prove nothing: a change within the same
// mtime tick (whole seconds over SFTP, truncated) after the read would not
// show. It also absorbs a little clock skew between the hosts.
const racyWindow = 3 * time.Second

// racy reports whether a file with mtime, read until readEnd, may have
// changed since without its size and mtime showing it (git's "racily
// clean" entries).
func racy(mtime, readEnd time.Time) bool { return readEnd.Sub(mtime) < racyWindow }

// finishInstall renames the temporary file over the real name, keeping
// the replaced content in the trash, and counts the file.
func (ap *applier) finishInstall(f installed) error {
	if f.a.Op == OpUpdate && ap.opt.Trash != nil {
		if err := ap.keepOld(f.a.Path); err != nil {
			_ = ap.dst.Remove(f.tmp)
			return err
		}
	}
	ap.touch(f.a.Path)
	if err := ap.dst.Rename(f.tmp, f.a.Path); err != nil {
		_ = ap.dst.Remove(f.tmp)
		return err
	}
	ap.mu.Lock()
	ap.res.Files++
	ap.res.Bytes += f.n
	ap.res.Written[f.a.Path] = f.written
	ap.res.done[f.a] = true
	ap.mu.Unlock()
	ap.opt.Progress.Files.Add(1)
	return nil
}

// ownedLikeNew reports whether the source owner equals the owner new files
// get on the destination (learnt from the first one made), so that the
// chown of every file can be left out when it would change nothing.
func (ap *applier) ownedLikeNew(dir string, src transport.FileInfo) bool {
	ap.newOwnerOnce.Do(func() {
		ap.newUID, ap.newGID = -1, -1
		probe := ap.tempName(path.Join(dir, "owner-probe"))
		w, err := ap.dst.Create(probe, 0o600)
		if err != nil {
			return
		}
		w.Close()
		if fi, err := ap.dst.Lstat(probe); err == nil {
			ap.newUID, ap.newGID = fi.UID, fi.GID
		}
		_ = ap.dst.Remove(probe)
	})
	return src.UID >= 0 && src.UID == ap.newUID && src.GID == ap.newGID
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
	tmp := ap.tempName(a.Path)
	if err := ap.dst.Symlink(a.Src.Link, tmp); err != nil {
		return err
	}
	s := *a.Src
	if err := ap.setMeta(tmp, &s, ChangeOwner|ChangeTime); err != nil {
		_ = ap.dst.Remove(tmp)
		return err
	}
	if err := ap.install(tmp, a); err != nil {
		return err
	}
	ap.mu.Lock()
	ap.res.Links++
	ap.mu.Unlock()
	return nil
}

// install renames the entry made at tmp over a.Path, keeping what it
// replaces in the trash; on failure tmp is removed.
func (ap *applier) install(tmp string, a *Action) error {
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
	return nil
}

// unwrapTime returns the listed time where stat is what SFTP makes of it:
// an SFTP stat carries unsigned 32-bit seconds (see wrapped32), while the
// listing (find on the host) carried the real time, before 1970 or after
// 2106.
func unwrapTime(stat, listed time.Time) time.Time {
	if !stat.Equal(listed) && stat.Unix() == wrapped32(listed) {
		return listed
	}
	return stat
}
