package mirror

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// compareContent hashes both sides of every same-size file pair that the
// merge could not tell apart by size (OpMeta placeholders on regular files;
// without Checksum only those in Recheck), turning them into updates where
// the content differs and dropping those where nothing differs. Hash
// errors on the source are source read errors.
func (p *Plan) compareContent(ctx context.Context, src, dst transport.FS) error {
	var idx []int
	for i, a := range p.Actions {
		if a.Op == OpMeta && a.Src.IsRegular() && (p.Options.Checksum || p.Options.Recheck[a.Path]) {
			idx = append(idx, i)
		}
	}
	var total int64
	for _, i := range idx {
		total += p.Actions[i].Src.Size
	}
	p.Options.Progress.startHash(len(idx), total)
	names := make([]string, len(idx))
	sizes := make([]int64, len(idx))
	for k, i := range idx {
		names[k], sizes[k] = p.Actions[i].Path, p.Actions[i].Src.Size
	}
	var srcSums, dstSums []transport.Sum
	var srcErrs, dstErrs []error
	var cerr [2]error
	var wg sync.WaitGroup
	wg.Go(func() {
		srcSums, srcErrs, cerr[0] = hashAll(ctx, src, names, sizes, p.Options.Workers, p.Options.Progress)
	})
	wg.Go(func() { dstSums, dstErrs, cerr[1] = hashAll(ctx, dst, names, sizes, p.Options.Workers, nil) })
	wg.Wait()
	p.hashed = time.Now()
	if err := errors.Join(cerr[:]...); err != nil {
		return err
	}
	p.SourceErrors = append(p.SourceErrors, srcErrs...)
	p.DestErrors = append(p.DestErrors, dstErrs...)
	drop := make(map[int]bool)
	for k, i := range idx {
		a := &p.Actions[i]
		sum := srcSums[k]
		a.Sum = &sum
		if srcSums[k] == dstSums[k] {
			p.sums[a.Path] = sum
		}
		switch {
		case srcSums[k] != dstSums[k]:
			a.Op, a.Why = OpUpdate, a.Why|ChangeContent
		case a.Why == 0:
			drop[i] = true
		}
	}
	if len(drop) > 0 {
		kept := p.Actions[:0]
		for i, a := range p.Actions {
			if !drop[i] {
				kept = append(kept, a)
			}
		}
		p.Actions = kept
	}
	return nil
}

// forEach calls fn(0..n-1) from up to workers goroutines and returns
// ctx's error if ctx ended before all were started.
func forEach(ctx context.Context, n, workers int, fn func(i int)) error {
	if workers <= 0 {
		workers = 1
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	var err error
	for i := 0; i < n; i++ {
		select {
		case next <- i:
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	close(next)
	wg.Wait()
	return err
}

// hashChunk bounds the files hashed in one request: big enough that a
// remote host hashes many files per command, small enough that several
// commands run at once.
const hashChunk = 256

// hashAll hashes names on fsys, in chunks hashed concurrently (one remote
// command each where the host can hash next to the data). A chunk that
// fails is hashed file by file so that each failure is reported alone; a
// failed file keeps a zero sum. progress (may be nil) counts the files.
func hashAll(ctx context.Context, fsys transport.FS, names []string, sizes []int64, workers int, progress *Progress) ([]transport.Sum, []error, error) {
	sums := make([]transport.Sum, len(names))
	chunk := min(hashChunk, max(1, (len(names)+workers-1)/workers))
	var mu sync.Mutex
	var errs []error
	err := forEach(ctx, (len(names)+chunk-1)/chunk, workers, func(c int) {
		lo, hi := c*chunk, min((c+1)*chunk, len(names))
		got, err := transport.HashFiles(fsys, names[lo:hi])
		if err == nil {
			copy(sums[lo:hi], got)
		}
		for i := lo; i < hi; i++ {
			if err != nil {
				var ferr error
				if sums[i], ferr = transport.HashFile(fsys, names[i]); ferr != nil {
					mu.Lock()
					errs = append(errs, ferr)
					mu.Unlock()
				}
			}
			progress.hashed(sizes[i])
		}
	})
	return sums, errs, err
}
