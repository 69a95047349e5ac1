package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// without returns snap (from snapshot) less the root itself, the entries at
// or under each of paths, and, when toolFiles, the tool's own names at the
// root (marker, manifest, journal, lock, last run, trash): what a test
// claims no run touched.
func without(snap map[string]string, toolFiles bool, paths ...string) map[string]string {
	out := map[string]string{}
next:
	for p, d := range snap {
		if p == "." || toolFiles && !strings.Contains(p, "/") && strings.HasPrefix(p, mirror.ReservedPrefix) ||
			toolFiles && strings.HasPrefix(p, mirror.TrashDir+"/") {
			continue
		}
		for _, q := range paths {
			if p == q || strings.HasPrefix(p, q+"/") {
				continue next
			}
		}
		out[p] = d
	}
	return out
}

// snapshotDiff lists what differs between two snapshots, sorted.
func snapshotDiff(before, after map[string]string) []string {
	var diffs []string
	for p, d := range before {
		if a, ok := after[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: gone (was %s)", p, d))
		} else if a != d {
			diffs = append(diffs, fmt.Sprintf("%s: was %q, now %q", p, d, a))
		}
	}
	for p, d := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: new (%s)", p, d))
		}
	}
	sort.Strings(diffs)
	return diffs
}

// assertSnapshotsEqual fails the test, naming every difference, when what
// of root was claimed untouched changed.
func assertSnapshotsEqual(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if diffs := snapshotDiff(before, after); len(diffs) > 0 {
		t.Errorf("%s changed:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// trashed returns the files in the trash of the copy at root, by their
// path in the copy (the trash's run directory left out), each with the
// SHA-256 sums of its kept versions.
func trashed(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	trash := filepath.Join(root, mirror.TrashDir)
	err := filepath.WalkDir(trash, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == trash && os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(trash, p)
		_, inCopy, _ := strings.Cut(rel, "/") // <stamp>/<path>
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[inCopy] = append(out[inCopy], fmt.Sprintf("%x", sha256.Sum256(data)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertTrashHolds fails unless the trash of the copy at root holds, for
// each path of want, exactly one version with the sum want names, and
// nothing else.
func assertTrashHolds(t *testing.T, root string, want map[string]string) {
	t.Helper()
	got := trashed(t, root)
	for p, sum := range want {
		if sums := got[p]; len(sums) != 1 || sums[0] != sum {
			t.Errorf("trash of %s: %s kept %d times (%v), want once with its old content", root, p, len(sums), sums)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("trash of %s holds %s, which no run replaced or deleted", root, p)
		}
	}
}

// sumOf returns the SHA-256 of the file at p, as contentSums records it.
func sumOf(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	must(t, err)
	return fmt.Sprintf("%x", sha256.Sum256(data))
}
