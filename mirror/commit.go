package mirror

import (
	"context"
	"slices"
	"sync"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Batches of a group commit: so many files, or so many bytes, whichever
// comes first.
const (
	commitFiles = 512
	commitBytes = 256 << 20
)

// committer gives many files the guarantee of a per-file fsync at the cost
// of one syncfs a batch: copied files wait under their temporary names;
// when the batch is full, one SyncFS makes them all durable, then each is
// renamed over its real name. Safe for concurrent use by the workers.
type committer struct {
	ap      *applier
	mu      sync.Mutex // guards pending and bytes
	pending []installed
	bytes   int64
	flushMu sync.Mutex // one flush at a time, in order
}

// newCommitter returns a committer when dst can sync a filesystem at once
// (tried once here, which also flushes what came before), else nil: files
// are then synced one by one.
func newCommitter(ctx context.Context, ap *applier) *committer {
	if err := transport.SyncFS(ctx, ap.dst, "."); err != nil {
		return nil
	}
	return &committer{ap: ap}
}

// add queues a copied file and flushes the batch when it is full.
func (c *committer) add(ctx context.Context, f installed) error {
	c.mu.Lock()
	c.pending = append(c.pending, f)
	c.bytes += f.n
	full := len(c.pending) >= commitFiles || c.bytes >= commitBytes
	c.mu.Unlock()
	if full {
		c.flush(ctx)
	}
	return nil
}

// flush syncs the filesystems of the queued files and renames them into
// place. A failed sync renames none of them: their temporaries go, the
// error is the run's, and the next run copies them again.
func (c *committer) flush(ctx context.Context) {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	batch := c.pending
	c.pending, c.bytes = nil, 0
	c.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	var dirs []string
	for _, f := range batch {
		dirs = append(dirs, parent(f.tmp))
	}
	slices.Sort(dirs)
	if err := transport.SyncFS(ctx, c.ap.dst, slices.Compact(dirs)...); err != nil {
		c.ap.fail(err)
		for _, f := range batch {
			_ = c.ap.dst.Remove(f.tmp)
		}
		return
	}
	for _, f := range batch {
		if err := c.ap.finishInstall(f); err != nil {
			c.ap.fail(err)
		}
	}
}
