package mirror

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Difference is one path where two copies differ in content.
type Difference struct {
	Kind string `json:"kind"` // missing, extra, differ, type, link; unsure (check --mirror-only)
	Path string `json:"path"` // in JSON escaped with DisplayName
}

// MarshalJSON writes the path escaped with DisplayName: a JSON string must
// be UTF-8, and a name need not be.
func (d Difference) MarshalJSON() ([]byte, error) {
	type plain Difference
	return json.Marshal(plain{Kind: d.Kind, Path: DisplayName(d.Path)})
}

// CheckReport is the result of Check.
type CheckReport struct {
	Differences  []Difference
	SourceErrors []error
	DestErrors   []error
	Files        int // files and links compared
	Unverified   int // files whose content could not be verified (no known hash)
}

func sortDifferences(ds []Difference) {
	slices.SortFunc(ds, func(a, b Difference) int { return comparePaths(a.Path, b.Path) })
}

// Check compares the content of src and dst within dirs by BLAKE3, reading
// both and writing nothing. Metadata (mode, mtime, owner) is not content and
// is not reported. It is the plan of a --checksum run with deletions,
// read as a list of differences.
func Check(ctx context.Context, src, dst transport.FS, dirs []string, workers int) (*CheckReport, error) {
	return CheckProgress(ctx, src, dst, dirs, workers, nil)
}

// CheckProgress is Check counting the files it hashes in prog (may be nil).
func CheckProgress(ctx context.Context, src, dst transport.FS, dirs []string, workers int, prog *Progress) (*CheckReport, error) {
	sj, dj, err := readJournals(src, dst)
	if err != nil {
		return nil, err
	}
	p, err := MakePlan(ctx, src, dst, Options{Dirs: dirs, Checksum: true, Delete: true, Workers: workers, Progress: prog, HardLinks: true, Xattrs: true, Specials: true, SrcTemps: sj.Temps, DstTemps: dj.Temps})
	if err != nil {
		return nil, err
	}
	r := &CheckReport{SourceErrors: p.SourceErrors, DestErrors: p.DestErrors, Files: p.Totals.SourceFiles}
	for i := range p.Actions {
		a := &p.Actions[i]
		kind := ""
		switch a.Op {
		case OpMkdir, OpCopy:
			kind = "missing"
		case OpSymlink:
			kind = "missing"
			if a.Dst != nil {
				kind = "link"
			}
		case OpUpdate:
			kind = "differ"
		case OpDelete:
			kind = "extra"
		case OpSetAside:
			kind = "type"
		case OpSpecial:
			kind = "missing"
			if a.Dst != nil {
				kind = "differ"
			}
		case OpHardlink:
			kind = "hardlink" // not linked as on the source
		case OpMeta:
			if a.Why&ChangeXattr != 0 {
				kind = "xattrs"
			}
		}
		if kind != "" {
			r.Differences = append(r.Differences, Difference{Kind: kind, Path: a.Path})
		}
	}
	// A set-aside is followed by the creation of the new type: one line.
	r.Differences = dedupeType(r.Differences)
	return r, nil
}

func dedupeType(ds []Difference) []Difference {
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && ds[i-1].Kind == "type" && ds[i-1].Path == d.Path {
			continue
		}
		out = append(out, d)
	}
	return out
}

// Write prints one line per difference, then read errors.
func (r *CheckReport) Write(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, d := range r.Differences {
		ew.printf("%-8s %s\n", d.Kind+":", DisplayName(d.Path))
	}
	for _, err := range r.SourceErrors {
		ew.printf("error: source: %s\n", DisplayName(err.Error()))
	}
	for _, err := range r.DestErrors {
		ew.printf("error: mirror: %s\n", DisplayName(err.Error()))
	}
	if r.Unverified > 0 {
		ew.printf("note: %d files have no recorded hash and were checked by size only\n", r.Unverified)
	}
	if len(r.Differences) == 0 && len(r.SourceErrors)+len(r.DestErrors) == 0 {
		ew.printf("in sync: %d files compared by content\n", r.Files)
	} else {
		ew.printf("%d differences in %d files compared\n", len(r.Differences), r.Files)
	}
	return ew.err
}

// String is a one-line summary.
func (r *CheckReport) String() string {
	return fmt.Sprintf("%d differences", len(r.Differences))
}
