package mirror

import (
	"bytes"
	"io"
	"sync"

	"github.com/mirrorfence/mirrorfence/transport"
)

// holeBlock is the unit of hole detection: an aligned block of this many
// zero bytes is not written, so that it stays a hole on the destination
// (rsync -S does the same). 4 KiB is the block of the common file systems;
// a smaller run of zeros could not become a hole anyway.
const holeBlock = 4 << 10

// sparseChunk is how much is read, hashed and written at a time; large, so
// that one WriteAt over SFTP becomes many requests in flight.
const sparseChunk = 1 << 20

var (
	zeroBlock     [holeBlock]byte
	sparseBuffers = sync.Pool{New: func() any { b := make([]byte, sparseChunk); return &b }}
)

// copySparse copies r to w, feeding h with every byte read, and leaves
// each aligned all-zero block unwritten, then sets the size, so that the
// copy is sparse wherever the content has holes' worth of zeros — whatever
// the source's own allocation. It returns the bytes of content copied,
// holes included.
func copySparse(w transport.HoleWriter, r io.Reader, h io.Writer) (int64, error) {
	bp := sparseBuffers.Get().(*[]byte)
	defer sparseBuffers.Put(bp)
	var off int64
	for {
		n, err := io.ReadFull(r, *bp)
		if n > 0 {
			h.Write((*bp)[:n])
			if werr := writeDataBlocks(w, (*bp)[:n], off); werr != nil {
				return off, werr
			}
			off += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return off, err
		}
	}
	return off, w.Truncate(off)
}

// writeDataBlocks writes the runs of b (which starts at file offset off,
// a multiple of holeBlock) that are not whole zero blocks, one WriteAt per
// run.
func writeDataBlocks(w transport.HoleWriter, b []byte, off int64) error {
	for start := 0; start < len(b); {
		for start < len(b) && isZeroBlock(b, start) {
			start += holeBlock
		}
		end := start
		for end < len(b) && !isZeroBlock(b, end) {
			end += holeBlock
		}
		end = min(end, len(b))
		if start < end {
			if _, err := w.WriteAt(b[start:end], off+int64(start)); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}

// isZeroBlock reports whether the block of b at i holds only zeros; a
// short last block counts too: the final Truncate makes it a hole or the
// zero tail of a block.
func isZeroBlock(b []byte, i int) bool {
	blk := b[i:min(i+holeBlock, len(b))]
	return bytes.Equal(blk, zeroBlock[:len(blk)])
}
