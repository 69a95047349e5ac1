package mirror

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/mirrorfence/mirrorfence/transport"
)

// The delta transfer: a large file that changed in place (a database, a
// disk image) is compared in fixed blocks, as the GDS and Instant Image
// resyncs do, and only the blocks that differ travel.
const (
	deltaMin   = 16 << 20 // files smaller than this are copied whole
	deltaBlock = 1 << 20  // block size
)

// errNoDelta says the delta transfer does not apply; the file is copied
// whole instead.
var errNoDelta = errors.New("no delta transfer")

// deltaPossible reports whether action a may travel as a delta: an update
// of a large regular file, between endpoints of which at least one is
// remote, that hash blocks next to their data and that can patch a copy.
func (ap *applier) deltaPossible(a *Action) bool {
	if a.Op != OpUpdate || a.Dst == nil || !a.Dst.IsRegular() || a.Src.Size < deltaMin || a.Dst.Size < deltaMin {
		return false
	}
	_, srcLocal := ap.src.(*transport.Local)
	_, dstLocal := ap.dst.(*transport.Local)
	_, srcBH := ap.src.(transport.BlockHasher)
	_, dstBH := ap.dst.(transport.BlockHasher)
	_, patcher := ap.dst.(transport.Patcher)
	return !(srcLocal && dstLocal) && srcBH && dstBH && patcher
}

// copyDelta builds the new content of a.Path in a temporary file on the
// destination: a copy of the old file made there, with the blocks that
// differ from the source written over it, truncated to the source's size.
// The result is hashed again on the destination and must match the
// source's blocks, else it is removed and errNoDelta returned. It returns
// the temporary name and the bytes that travelled.
func (ap *applier) copyDelta(p string, fi transport.FileInfo) (string, int64, error) {
	srcSums, dstSums, err := ap.blockSums(p, p)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", errNoDelta, err)
	}
	tmp := ap.tempName(p)
	patcher := ap.dst.(transport.Patcher)
	if err := patcher.CloneFile(p, tmp); err != nil {
		return "", 0, fmt.Errorf("%w: %v", errNoDelta, err)
	}
	err = ap.dst.Chmod(tmp, fi.Mode.Perm())
	var n int64
	if err == nil {
		n, err = ap.patch(patcher, p, tmp, fi.Size, srcSums, dstSums)
	}
	if err == nil {
		var got []transport.Sum
		got, err = ap.dst.(transport.BlockHasher).HashBlocks(tmp, deltaBlock)
		if err == nil && !slices.Equal(got, srcSums) {
			err = fmt.Errorf("%w: %s: the patched copy does not match the source", errNoDelta, p)
		}
	}
	if err != nil {
		_ = ap.dst.Remove(tmp)
		return "", 0, err
	}
	ap.opt.Progress.Bytes.Add(n)
	return tmp, n, nil
}

// blockSums hashes the blocks of the source and the destination file at
// once, each next to its data.
func (ap *applier) blockSums(srcName, dstName string) (srcSums, dstSums []transport.Sum, err error) {
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { srcSums, serr = ap.src.(transport.BlockHasher).HashBlocks(srcName, deltaBlock) })
	wg.Go(func() { dstSums, derr = ap.dst.(transport.BlockHasher).HashBlocks(dstName, deltaBlock) })
	wg.Wait()
	return srcSums, dstSums, errors.Join(serr, derr)
}

// patch writes into tmp the source blocks that differ from the old ones,
// sets its size, syncs it unless the group commit will, and returns the
// bytes written.
func (ap *applier) patch(patcher transport.Patcher, p, tmp string, size int64, srcSums, dstSums []transport.Sum) (int64, error) {
	r, err := ap.src.Open(p)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return 0, fmt.Errorf("%w: %s: source cannot read at offsets", errNoDelta, p)
	}
	w, err := patcher.OpenPatch(tmp)
	if err != nil {
		return 0, err
	}
	n, err := writeChanged(w, ra, size, srcSums, dstSums)
	if err == nil {
		err = w.Truncate(size)
	}
	if err == nil && ap.commit == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// writeChanged copies from r to w every block whose sum differs.
func writeChanged(w io.WriterAt, r io.ReaderAt, size int64, srcSums, dstSums []transport.Sum) (int64, error) {
	buf := make([]byte, deltaBlock)
	var n int64
	for i, s := range srcSums {
		if i < len(dstSums) && dstSums[i] == s {
			continue
		}
		off := int64(i) * deltaBlock
		chunk := buf[:min(deltaBlock, size-off)]
		if _, err := r.ReadAt(chunk, off); err != nil && err != io.EOF {
			return n, err
		}
		if _, err := w.WriteAt(chunk, off); err != nil {
			return n, err
		}
		n += int64(len(chunk))
	}
	return n, nil
}
