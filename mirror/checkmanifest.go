package mirror

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mirrorfence/mirrorfence/transport"
)

// ErrNoManifest reports a mirror without a manifest to check against.
var ErrNoManifest = errors.New("no manifest: the mirror has had no complete run yet")

// CheckManifest verifies the mirror fsys against the manifest its last
// run left, without the source: every recorded path must be there with its
// type and size, and files whose hash is known must still hash to it.
// Files without a known hash are counted in Unverified; files the run
// could not prove equal to the source (see Trust) are "unsure"
// differences: the next run compares them by content.
func CheckManifest(ctx context.Context, fsys transport.FS, dirs []string, workers int) (*CheckReport, error) {
	m, err := ReadManifest(fsys)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("%s: %w", fsys, ErrNoManifest)
	}
	j, err := readJournal(fsys)
	if err != nil {
		return nil, err
	}
	r := &CheckReport{}
	var now []Entry
	for _, dir := range scopeDirs(dirs) {
		t := ListTree(fsys, dir, j.Temps)
		r.DestErrors = append(r.DestErrors, t.Errors...)
		if t.Root != nil {
			now = append(now, *t.Root)
			now = append(now, t.Entries...)
		}
	}
	var toHash []Entry
	seen := make(map[string]bool, len(now))
	for _, e := range now {
		seen[e.Path] = true
		old, ok := m[e.Path]
		switch {
		case !ok:
			r.Differences = append(r.Differences, Difference{Kind: "extra", Path: e.Path})
		case old.Mode.Type() != e.Mode.Type():
			r.Differences = append(r.Differences, Difference{Kind: "type", Path: e.Path})
		case e.IsRegular() && old.Size != e.Size:
			r.Differences = append(r.Differences, Difference{Kind: "differ", Path: e.Path})
		case e.IsRegular() && old.Trust != Trusted:
			// Copied while it changed, or too soon after a change: its
			// hash is of what was written, which may not be the source's.
			r.Differences = append(r.Differences, Difference{Kind: "unsure", Path: e.Path})
		case e.IsRegular() && old.Sum != nil:
			toHash = append(toHash, e)
		case e.IsRegular():
			r.Unverified++
		}
		if !e.IsDir() {
			r.Files++
		}
	}
	for p := range m {
		if !seen[p] {
			r.Differences = append(r.Differences, Difference{Kind: "missing", Path: p})
		}
	}
	var mu sync.Mutex
	err = forEach(ctx, len(toHash), workers, func(i int) {
		e := toHash[i]
		sum, err := transport.HashFile(fsys, e.Path)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			r.DestErrors = append(r.DestErrors, err)
		case sum != *m[e.Path].Sum:
			r.Differences = append(r.Differences, Difference{Kind: "differ", Path: e.Path})
		}
	})
	sortDifferences(r.Differences)
	return r, err
}
