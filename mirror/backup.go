package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Backup makes dst (the table's MIRROR) a copy of src (the table's SOURCE)
// within opt.Dirs. In order: the fences on both markers; the lock on the
// mirror (fences checked again under it); the Before hook (opt.Hooks),
// which starts the freeze window; the plan; the fences on the plan (empty
// source, mirror changed outside the tool, max-delete); the copy, then the
// After hook (also when the run stops or fails after Before succeeded);
// then, for a complete run, the manifest and the markers. A failing Before
// stops the run before anything is planned or written.
// Every refusal is a *Refusal returned before the first write. With
// opt.DryRun it stops after the plan and writes nothing at all.
func Backup(ctx context.Context, src, dst transport.FS, opt RunOptions) (rep *Report, err error) {
	opt.defaults()
	rep = &Report{Start: time.Now()}
	srcState, dstState, err := fenceBackupStates(opt, src, dst)
	if err != nil {
		return rep, err
	}
	if opt.DryRun {
		rep.Warnings = append(rep.Warnings, lockWarnings(dst, opt)...)
	} else if !opt.lockHeld {
		var lock *Lock
		var warning string
		if lock, warning, err = AcquireLock(dst, opt.Command, opt.LockStale); err != nil {
			return rep, err
		}
		defer func() { lock.release(err) }()
		if warning != "" {
			rep.Warnings = append(rep.Warnings, warning)
		}
		// The markers may have changed while the lock was contended.
		if srcState, dstState, err = fenceBackupStates(opt, src, dst); err != nil {
			return rep, err
		}
	}
	if !opt.DryRun {
		// The freeze: the plan and the copy see the data as the before
		// hook left it (flushed, marked), and the window starts now.
		if err := rep.freeze(ctx, opt); err != nil {
			return rep, err
		}
		defer rep.thaw(ctx, opt)
	}
	rep.Verdict, _ = FenceBackup(opt.Target, srcState, dstState, opt.DiscardStale)
	srcJournal, dstJournal, err := readJournals(src, dst)
	if err != nil {
		return rep, err
	}
	manifest, err := ReadManifest(dst)
	if err != nil {
		return rep, err
	}
	plan, err := MakePlan(ctx, src, dst, Options{Dirs: opt.Dirs, Checksum: opt.Checksum, Delete: true, Owners: opt.Owners, Workers: opt.Workers, Progress: opt.Progress,
		HardLinks: canLink(dst, opt.HardLinks), Xattrs: opt.Xattrs, Specials: canMknod(dst), SrcTemps: srcJournal.Temps, DstTemps: dstJournal.Temps, Recheck: manifest.Untrusted()})
	if err != nil {
		return rep, err
	}
	rep.Plan = plan
	if err := fencePlan(rep, opt, dstState, manifest, dstJournal); err != nil {
		return rep, err
	}
	if opt.DryRun {
		return rep, nil
	}
	err = backupApply(ctx, rep, src, dst, opt, manifest, dstJournal)
	rep.End = time.Now()
	if err != nil {
		return rep, err
	}
	if err := rep.Err(); err != nil {
		return rep, err
	}
	return rep, finishBackup(rep, src, dst, srcState.Marker, dstState.Marker, opt)
}

// lockWarnings says, for a dry run, that a real run would be refused now
// because another run holds the lock on fsys.
func lockWarnings(fsys transport.FS, opt RunOptions) []string {
	holder, err := LiveHolder(fsys, opt.LockStale)
	switch {
	case err != nil:
		return []string{fmt.Sprintf("reading the lock: %v", err)}
	case holder != nil:
		return []string{fmt.Sprintf("another run holds the lock on %s: %s; a real run would be refused now", fsys, holder)}
	}
	return nil
}

func fenceBackupStates(opt RunOptions, src, dst transport.FS) (CopyState, CopyState, error) {
	srcState, err := ReadCopyState(src)
	if err != nil {
		return srcState, CopyState{}, err
	}
	dstState, err := ReadCopyState(dst)
	if err != nil {
		return srcState, dstState, err
	}
	_, err = FenceBackup(opt.Target, srcState, dstState, opt.DiscardStale)
	return srcState, dstState, err
}

// fencePlan applies the rules that need the plan: an empty source under a
// non-empty mirror, a mirror changed outside the tool, too many deletions.
func fencePlan(rep *Report, opt RunOptions, dstState CopyState, manifest Manifest, journal journal) error {
	p := rep.Plan
	t := p.Totals
	// Missing DIRs on the source count as empty: a marker copied by hand
	// onto a blank disk must not pass for a source. A source that could
	// not be read completely is not empty, only unread: that run copies
	// what it could read and deletes nothing (and fails, exit 4).
	if t.SourceFiles == 0 && t.DestFiles > 0 && !p.SourceUnread() {
		return refuse("source-empty", fmt.Sprintf("check that the source is mounted and holds its data; if the source's disk was replaced by a blank one, fill it from the mirror with 'backup restore %s'; to clear a mirror on purpose remove the files by hand", opt.Target),
			"SOURCE %s has no files in scope while MIRROR %s has %d: the source looks unmounted or lost; nothing will be deleted", p.From, p.To, t.DestFiles)
	}
	if err := fenceDirs(p, "SOURCE", "MIRROR", opt.commandLine("backup")); err != nil {
		return err
	}
	if manifest != nil && !rep.Verdict.DiscardStale && dstState.Marker.Role == RoleMirror {
		rep.MirrorChanges = excuse(manifest.Changed(p.dst, p.dstXattrs), journal.Paths)
		if len(rep.MirrorChanges) > 0 && !opt.OverwriteMirrorChanges {
			return refuse("mirror-changed",
				fmt.Sprintf("if users wrote to the mirror because it stood in for the source, save those files or make it the source with 'backup promote %s' or 'backup swap %s'; to discard them (into the trash) run 'backup backup %s --overwrite-mirror-changes'", opt.Target, opt.Target, opt.Target),
				"MIRROR %s was changed outside the tool since the last run (%d paths):\n%s", p.To, len(rep.MirrorChanges), listPaths(rep.MirrorChanges, 20))
		}
	}
	// An unread part of the source shows as deletions, none of which can
	// happen in this run (apply skips them all): nothing to limit.
	if limit := opt.MaxDelete.Limit(t.DestFiles); t.Deletes > limit && !p.SourceUnread() {
		return refuse("max-delete", fmt.Sprintf("see what would go with 'backup backup %s -n --max-delete %s' and check the source; if these deletions are meant, raise --max-delete: 'backup backup %s --max-delete %d'", opt.Target, opt.MaxDelete, opt.Target, t.Deletes),
			"the run would delete %d of the %d files on the mirror, more than --max-delete %s allows (%d)", t.Deletes, t.DestFiles, opt.MaxDelete, limit)
	}
	for _, a := range p.Actions {
		// A file the last run could not prove (Recheck) may differ so.
		if a.Op == OpUpdate && a.Why&^ChangeContent == 0 && a.Why != 0 && !p.Options.Recheck[a.Path] {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: content differed with equal size, mtime and mode (corruption on the mirror?); repaired from the source", a.Path))
		}
	}
	return nil
}

func listPaths(paths []string, most int) string {
	var b strings.Builder
	for i, p := range paths {
		if i == most {
			fmt.Fprintf(&b, "    ... and %d more\n", len(paths)-most)
			break
		}
		fmt.Fprintf(&b, "    %s\n", DisplayName(p))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// backupApply runs the copy phase under the journal (see applyJournaled)
// and, after any run that got to its end, complete or not, records in the
// manifest what the run saw and wrote (recordRun). The journal goes only
// when the run was complete: a run with errors leaves it, and the next run
// excuses its paths and removes its temporaries.
func backupApply(ctx context.Context, rep *Report, src, dst transport.FS, opt RunOptions, manifest Manifest, prev journal) error {
	var trash *Trash
	if !opt.NoTrash || rep.Verdict.DiscardStale || len(rep.MirrorChanges) > 0 {
		trash = NewTrash(dst, rep.Start)
	}
	wrote := len(rep.Plan.Actions) > 0 || !prev.empty()
	token := transport.NewTempToken()
	err := applyJournaled(ctx, rep, src, dst, trash, opt, prev, token)
	if ctx.Err() != nil {
		return err // the journal stays; the next run excuses its paths
	}
	// A run that changed nothing and learnt no hash leaves the manifest be.
	if !wrote && manifest != nil && len(rep.Plan.sums) == 0 {
		return err
	}
	if merr := writeManifest(dst, recordRun(rep.Plan, rep.Result, manifest)); merr != nil && err == nil {
		err = merr
	}
	if wrote && err == nil {
		err = settleJournal(dst, rep, prev, token)
	}
	return err
}

// applyJournaled runs the copy phase of rep.Plan onto dst under a journal
// written before the first write: token, which names this run's
// temporaries, and the paths it changes, added to what prev (a cut run's
// journal) holds. The caller settles the journal once the run is recorded.
func applyJournaled(ctx context.Context, rep *Report, src, dst transport.FS, trash *Trash, opt RunOptions, prev journal, token string) error {
	if len(rep.Plan.Actions) > 0 {
		if err := writeJournal(dst, prev.extend(token, rep.Plan)); err != nil {
			return err
		}
	}
	return runApply(ctx, rep, src, dst, trash, opt, token)
}

// settleJournal ends the journal of a run that got to its end and was
// recorded: removed when the run was complete; else it keeps the tokens
// (a failed copy's temporary may be left) and only the paths whose actions
// failed, which may be half done: the next run excuses them once more.
func settleJournal(dst transport.FS, rep *Report, prev journal, token string) error {
	if rep.Err() == nil {
		return removeJournal(dst)
	}
	j := journal{Temps: TempTokens{token: true}}
	for t := range prev.Temps {
		j.Temps[t] = true
	}
	for i := range rep.Plan.Actions {
		a := &rep.Plan.Actions[i]
		if rep.Result == nil || !rep.Result.done[a] {
			j.Paths = append(j.Paths, journalPath(a))
		}
	}
	return writeJournal(dst, j)
}

// readJournals reads the journals of both copies: the source's names the
// temporaries a cut restore left there, which are not the users' files.
func readJournals(src, dst transport.FS) (journal, journal, error) {
	sj, err := readJournal(src)
	if err != nil {
		return sj, journal{}, err
	}
	dj, err := readJournal(dst)
	return sj, dj, err
}

// listScope lists the DIRs of a copy, each with its root entry.
func listScope(fsys transport.FS, dirs []string, own TempTokens) ([]Entry, error) {
	var entries []Entry
	for _, dir := range scopeDirs(dirs) {
		t := ListTree(fsys, dir, own)
		if len(t.Errors) > 0 {
			return nil, errors.Join(t.Errors...)
		}
		if t.Root != nil {
			entries = append(entries, *t.Root)
			entries = append(entries, t.Entries...)
		}
	}
	return entries, nil
}

// finishBackup records a complete run: the mirror's marker says from which
// source and epoch it was synced (and demotes a discarded stale source),
// the root's mtime is restored after the tool's own files touched it, and
// the trash is pruned.
func finishBackup(rep *Report, src, dst transport.FS, sm, dm *Marker, opt RunOptions) error {
	m := *dm
	m.Role, m.Epoch = RoleMirror, sm.Epoch
	m.Synced = &Synced{Source: sm.Copy, Epoch: sm.Epoch, Time: rep.End.UTC().Truncate(time.Second),
		Files: int64(rep.Plan.Totals.SourceFiles), Bytes: rep.Plan.Totals.SourceBytes}
	if err := WriteMarker(dst, &m); err != nil {
		return err
	}
	if err := restoreRootTime(src, dst, opt.Dirs); err != nil {
		return err
	}
	if !opt.NoTrash {
		if _, err := PruneTrash(dst, opt.TrashRetention, time.Now()); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("pruning the trash: %v", err))
		}
	}
	return nil
}

// restoreRootTime gives the mirror root the source root's mtime again when
// the whole root is in scope, since writing the marker changed it.
func restoreRootTime(src, dst transport.FS, dirs []string) error {
	if len(dirs) > 0 && !(len(dirs) == 1 && dirs[0] == ".") {
		return nil
	}
	fi, err := src.Lstat(".")
	if err != nil {
		return err
	}
	return dst.Chtimes(".", fi.ModTime)
}
