package mirror

import "sync/atomic"

// Progress counts what a run or a check has done so far; a caller may read
// it from another goroutine while the work goes on (a progress display
// polls it). Totals are set when a phase starts and counters only grow.
type Progress struct {
	Files atomic.Int64 // files transferred
	Bytes atomic.Int64 // bytes transferred

	// Copying is set when the copy phase starts, with what it has to
	// transfer in TotalFiles and TotalBytes.
	Copying    atomic.Bool
	TotalFiles atomic.Int64
	TotalBytes atomic.Int64

	// HashFiles and HashBytes count the source files hashed so far to
	// compare content (check, --checksum), of HashTotalFiles and
	// HashTotalBytes, set when the comparison starts.
	HashFiles      atomic.Int64
	HashBytes      atomic.Int64
	HashTotalFiles atomic.Int64
	HashTotalBytes atomic.Int64
}

// startCopy records what the copy phase has to transfer.
func (p *Progress) startCopy(t Totals) {
	if p == nil {
		return
	}
	p.TotalFiles.Store(int64(t.Files))
	p.TotalBytes.Store(t.Bytes)
	p.Copying.Store(true)
}

// startHash records what the content comparison has to hash.
func (p *Progress) startHash(files int, bytes int64) {
	if p == nil {
		return
	}
	p.HashTotalFiles.Store(int64(files))
	p.HashTotalBytes.Store(bytes)
}

// hashed counts one source file of size bytes hashed.
func (p *Progress) hashed(bytes int64) {
	if p == nil {
		return
	}
	p.HashFiles.Add(1)
	p.HashBytes.Add(bytes)
}
