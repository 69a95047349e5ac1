package mirror

import (
	"context"
	"sync"

	"github.com/mirrorfence/mirrorfence/transport"
)

// compareContent hashes both sides of every same-size file pair that the
// merge could not tell apart by size (OpMeta placeholders on regular files),
// turning them into updates where the content differs and dropping those
// where nothing differs. Hash errors on the source are source read errors.
func (p *Plan) compareContent(ctx context.Context, src, dst transport.FS) error {
	var idx []int
	for i, a := range p.Actions {
		if a.Op == OpMeta && a.Src.IsRegular() {
			idx = append(idx, i)
		}
	}
	var total int64
	for _, i := range idx {
		total += p.Actions[i].Src.Size
	}
	p.Options.Progress.startHash(len(idx), total)
	srcSums := make([]transport.Sum, len(idx))
	dstSums := make([]transport.Sum, len(idx))
	var mu sync.Mutex
	err := forEach(ctx, len(idx), p.Options.Workers, func(k int) {
		a := p.Actions[idx[k]]
		var serr, derr error
		srcSums[k], serr = transport.HashFile(src, a.Path)
		dstSums[k], derr = transport.HashFile(dst, a.Path)
		p.Options.Progress.hashed(a.Src.Size)
		mu.Lock()
		defer mu.Unlock()
		if serr != nil {
			p.SourceErrors = append(p.SourceErrors, serr)
		}
		if derr != nil {
			p.DestErrors = append(p.DestErrors, derr)
		}
	})
	if err != nil {
		return err
	}
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
