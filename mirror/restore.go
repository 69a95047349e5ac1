package mirror

import (
	"context"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Restore copies the mirror back onto the source, within opt.Dirs. It never
// deletes on the source unless opt.Delete, and what it deletes or replaces
// there goes to the source's trash. An empty source without a marker (a new
// disk replacing a lost one) is filled and then stamped as the pair's
// source. The lock is the target's lock, on the mirror.
func Restore(ctx context.Context, mirror, source transport.FS, opt RunOptions) (rep *Report, err error) {
	opt.defaults()
	rep = &Report{Start: time.Now()}
	mState, sState, err := fenceRestoreStates(opt, mirror, source)
	if err != nil {
		return rep, err
	}
	if opt.DryRun {
		rep.Warnings = append(rep.Warnings, lockWarnings(mirror, opt)...)
	} else {
		var lock *Lock
		var warning string
		if lock, warning, err = AcquireLock(mirror, opt.Command, opt.LockStale); err != nil {
			return rep, err
		}
		defer func() { lock.release(err) }()
		if warning != "" {
			rep.Warnings = append(rep.Warnings, warning)
		}
		if mState, sState, err = fenceRestoreStates(opt, mirror, source); err != nil {
			return rep, err
		}
	}
	mJournal, sJournal, err := readJournals(mirror, source)
	if err != nil {
		return rep, err
	}
	plan, err := MakePlan(ctx, mirror, source, Options{Dirs: opt.Dirs, Checksum: opt.Checksum, Delete: opt.Delete, Owners: opt.Owners, Workers: opt.Workers,
		HardLinks: canLink(source, opt.HardLinks), Xattrs: opt.Xattrs, Specials: canMknod(source), SrcTemps: mJournal.Temps, DstTemps: sJournal.Temps})
	if err != nil {
		return rep, err
	}
	rep.Plan = plan
	if err := fenceDirs(plan, "MIRROR", "SOURCE", opt.commandLine("restore")); err != nil {
		return rep, err
	}
	if opt.Delete {
		if limit := opt.MaxDelete.Limit(plan.Totals.DestFiles); plan.Totals.Deletes > limit {
			return rep, refuse("max-delete", "check the mirror; if these deletions are meant, raise --max-delete",
				"the restore would delete %d of the %d files on the source, more than --max-delete %s allows (%d)",
				plan.Totals.Deletes, plan.Totals.DestFiles, opt.MaxDelete, limit)
		}
	}
	if opt.DryRun {
		return rep, nil
	}
	var trash *Trash
	if !opt.NoTrash {
		trash = NewTrash(source, rep.Start)
	}
	token := transport.NewTempToken()
	err = applyJournaled(ctx, rep, mirror, source, trash, opt, sJournal, token)
	rep.End = time.Now()
	if err == nil && (len(plan.Actions) > 0 || !sJournal.empty()) {
		err = settleJournal(source, rep, sJournal, token)
	}
	if err == nil {
		err = rep.Err()
	}
	if err != nil || sState.Marker != nil {
		return rep, err
	}
	// A replacement disk, filled completely: it becomes the pair's source.
	m := mState.Marker
	epoch := m.Epoch
	if m.Synced != nil && m.Synced.Epoch > epoch {
		epoch = m.Synced.Epoch
	}
	return rep, WriteMarker(source, &Marker{Target: m.Target, Pair: m.Pair, Copy: NewID(), Role: RoleSource, Epoch: epoch})
}

func fenceRestoreStates(opt RunOptions, mirror, source transport.FS) (CopyState, CopyState, error) {
	mState, err := ReadCopyState(mirror)
	if err != nil {
		return mState, CopyState{}, err
	}
	sState, err := ReadCopyState(source)
	if err != nil {
		return mState, sState, err
	}
	_, err = FenceRestore(opt.Target, mState, sState)
	return mState, sState, err
}
