package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Hooks freeze and thaw the application around the copy phase.
type Hooks interface {
	// Before runs before anything is planned or copied; an error stops
	// the run, and After is not run.
	Before(ctx context.Context) error
	// After runs once the copy phase ended, whether it failed or not, or
	// when the run stops after Before succeeded (a refusal of the plan).
	After(ctx context.Context) error
}

// RunOptions configures Backup and Restore.
type RunOptions struct {
	Target                 string
	Dirs                   []string
	Checksum               bool
	DryRun                 bool          // plan and report, write nothing, take no lock
	Delete                 bool          // Restore only: delete on the source what the mirror lacks
	DiscardStale           bool          // Backup only: demote a stale former source at the mirror position
	OverwriteMirrorChanges bool          // Backup only: trash what users changed on the mirror
	MaxDelete              MaxDelete     // Backup only
	NoTrash                bool          // delete for real instead of into the trash
	TrashRetention         time.Duration // 0 means 7 days
	LockStale              time.Duration // a foreign host's lock older than this is stale; 0 means 24h
	Workers                int
	Owners                 bool
	Sparse                 bool          // copy runs of zeros as holes (the sparse setting, on by default)
	HardLinks              bool          // keep hard links (the hard_links setting, on by default)
	Xattrs                 bool          // keep extended attributes and ACLs (the xattrs setting, on by default)
	Hooks                  Hooks         // may be nil; Backup runs Before once it holds the lock, before planning
	Window                 time.Duration // the freeze window the copy must fit in, from the end of Before; 0 means none
	Progress               *Progress
	Command                string // recorded in the lock

	lockHeld bool // Swap holds the lock already
}

// MaxDelete limits the deletions of a run: Count files when set (negative
// for none at all), else Percent of the mirror's files in scope (50 by
// default).
type MaxDelete struct {
	Count   int
	Percent float64
}

// Limit returns the most deletions allowed out of total files.
func (m MaxDelete) Limit(total int) int {
	if m.Count != 0 {
		return max(m.Count, 0) // negative: no deletions at all
	}
	pct := m.Percent
	if pct <= 0 {
		pct = 50
	}
	return int(float64(total) * pct / 100)
}

func (m MaxDelete) String() string {
	if m.Count != 0 {
		return fmt.Sprint(max(m.Count, 0))
	}
	if m.Percent <= 0 {
		return "50%"
	}
	return fmt.Sprintf("%g%%", m.Percent)
}

// Report is what a run found and did.
type Report struct {
	Plan          *Plan
	Result        *Result // nil when nothing was applied
	Verdict       Verdict
	MirrorChanges []string // paths changed outside the tool since the last run
	Warnings      []string // lock takeover, freeze window, repairs, changed files
	Start, End    time.Time
	CopyTime      time.Duration // from the end of the Before hook to the end of the copy

	frozen time.Time // when the freeze began (the Before hook returned)
	hooked bool      // Before ran and After has not yet
}

// Err returns the read and transfer errors of the run, joined.
func (r *Report) Err() error {
	var errs []error
	if r.Plan != nil {
		errs = append(errs, r.Plan.SourceErrors...)
		errs = append(errs, r.Plan.DestErrors...)
	}
	if r.Result != nil {
		errs = append(errs, r.Result.Errors...)
	}
	return errors.Join(errs...)
}

func (o *RunOptions) defaults() {
	if o.TrashRetention == 0 {
		o.TrashRetention = 7 * 24 * time.Hour
	}
	if o.LockStale == 0 {
		o.LockStale = 24 * time.Hour
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
}

// ReadCopyState reads what a fence needs of one copy: its marker (nil when
// it has none) and whether its root is empty but for the tool's names.
func ReadCopyState(fsys transport.FS) (CopyState, error) {
	st := CopyState{Name: fsys.String()}
	m, err := ReadMarker(fsys)
	switch {
	case errors.Is(err, ErrNoMarker):
	case err != nil:
		return st, err
	default:
		st.Marker = m
	}
	entries, err := fsys.ReadDir(".")
	if err != nil {
		return st, err
	}
	st.Empty = true
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, ReservedPrefix) && !transport.IsTemp(e.Name) && e.Name != "lost+found" {
			st.Empty = false
			break
		}
	}
	return st, nil
}

// runApply runs the copy phase of a run inside the freeze (see freeze; a
// run that has not frozen yet freezes here), times it against the freeze
// window, thaws, and records the result in rep.
func runApply(ctx context.Context, rep *Report, src, dst transport.FS, trash *Trash, opt RunOptions, token string) error {
	if err := rep.freeze(ctx, opt); err != nil {
		return err
	}
	opt.Progress.startCopy(rep.Plan.Totals)
	res, err := Apply(ctx, rep.Plan, src, dst, ApplyOptions{Trash: trash, Workers: opt.Workers, Progress: opt.Progress, TempToken: token, KeepZeros: !opt.Sparse})
	rep.CopyTime = time.Since(rep.frozen)
	rep.Result = res
	rep.thaw(ctx, opt)
	if opt.Window > 0 && rep.CopyTime > opt.Window {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("copy outlasted the freeze window (took %s, window %s)",
			rep.CopyTime.Round(time.Millisecond), opt.Window))
	}
	return err
}

// freeze runs the Before hook, once per run, and starts the clock of the
// freeze window when it returns: the copy phase (planning included when
// the run froze before planning, as Backup does) is timed from the end of
// Before. An error of Before is returned and the run must stop: nothing
// has been copied, and After will not run. Without hooks it only starts
// the clock.
func (rep *Report) freeze(ctx context.Context, opt RunOptions) error {
	if !rep.frozen.IsZero() {
		return nil
	}
	if opt.Hooks != nil {
		if err := opt.Hooks.Before(ctx); err != nil {
			return err
		}
		rep.hooked = true
	}
	rep.frozen = time.Now()
	return nil
}

// thaw runs the After hook once, if Before ran, even when ctx has ended:
// the application must thaw whatever happened. Its error is a warning.
func (rep *Report) thaw(ctx context.Context, opt RunOptions) {
	if !rep.hooked {
		return
	}
	rep.hooked = false
	if err := opt.Hooks.After(context.WithoutCancel(ctx)); err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("after hook: %v", err))
	}
}
