package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// Init stamps a new pair: the source gets a source marker and the mirror a
// mirror marker, both at epoch 1. The mirror must be empty unless adopt (a
// copy made by another tool, to be checked first). A marked source with an
// unmarked mirror re-stamps just the mirror (a replaced mirror disk).
// It returns the markers as written (or, with dryRun, as they would be).
func Init(src, dst transport.FS, target string, adopt, dryRun bool) (*Marker, *Marker, error) {
	s, err := ReadCopyState(src)
	if err != nil {
		return nil, nil, err
	}
	d, err := ReadCopyState(dst)
	if err != nil {
		return nil, nil, err
	}
	if err := fenceInit(target, s, d, adopt); err != nil {
		return nil, nil, err
	}
	sm := s.Marker
	if sm == nil {
		sm = &Marker{Target: target, Pair: NewID(), Copy: NewID(), Role: RoleSource, Epoch: 1}
	}
	dm := &Marker{Target: target, Pair: sm.Pair, Copy: NewID(), Role: RoleMirror, Epoch: sm.Epoch}
	if dryRun {
		return sm, dm, nil
	}
	if s.Marker == nil {
		if err := WriteMarker(src, sm); err != nil {
			return nil, nil, err
		}
	}
	if err := WriteMarker(dst, dm); err != nil {
		return nil, nil, err
	}
	return sm, dm, nil
}

func fenceInit(target string, s, d CopyState, adopt bool) error {
	remedy := fmt.Sprintf("see 'backup status %s'", target)
	switch {
	case s.Marker != nil && d.Marker != nil:
		return refuse("initialised", remedy, "both %s and %s are already marked (%s; %s)", s.Name, d.Name, s.Marker, d.Marker)
	case d.Marker != nil:
		return refuse("mirror-marked", fmt.Sprintf("to fill a new empty source disk from the mirror use 'backup restore %s'", target),
			"MIRROR %s is already marked (%s) but SOURCE %s is not", d.Name, d.Marker, s.Name)
	case s.Marker != nil && (s.Marker.Target != target || s.Marker.Role != RoleSource):
		return refuse("wrong-target", remedy, "SOURCE %s is marked %s for target %q", s.Name, s.Marker.Role, s.Marker.Target)
	case !d.Empty && !adopt:
		return refuse("mirror-not-empty",
			fmt.Sprintf("init stamps an empty mirror; for a copy made by another tool run 'backup check %s' and then 'backup init %s --adopt'", target, target),
			"MIRROR %s is not empty", d.Name)
	}
	return nil
}

// Promoted is what Promote did, or with dryRun would do.
type Promoted struct {
	Marker *Marker // the MIRROR copy's marker after the promote
	// Already: the copy was the source before (a promote that already
	// happened, or a table written the wrong way round); nothing was
	// written, only the table is behind the markers.
	Already bool
}

// Promote makes the mirror the source after the source was lost: its
// marker becomes source at one epoch above any the pair has seen. src is
// the old source when it answered (nil when unreachable): if it holds its
// marker, promote refuses unless force, since a planned switchover is a
// swap. Promote is safe to repeat: a MIRROR copy that is already the
// source, ahead of the SOURCE copy, is left as it is (Promoted.Already),
// so that the caller can rewrite the table to agree with the markers.
func Promote(target string, src, dst transport.FS, force, dryRun bool) (Promoted, error) {
	d, err := ReadCopyState(dst)
	if err != nil {
		return Promoted{}, err
	}
	if d.Marker == nil || d.Marker.Target != target {
		return Promoted{}, refuse("mirror-unmarked",
			fmt.Sprintf("check the table's MIRROR path and 'backup status %s': only a marked copy of the pair can be promoted", target),
			"MIRROR %s has no marker for target %q", d.Name, target)
	}
	s := pairMarker(src, d.Marker.Pair)
	if d.Marker.Role == RoleSource {
		return promotedAlready(target, src, s, d)
	}
	epoch := d.Marker.Epoch
	if s != nil {
		if s.Role == RoleSource && !force {
			return Promoted{}, refuse("source-alive",
				fmt.Sprintf("for a planned switchover use 'backup swap %s' (final sync, no data lost); if the source's data is bad, 'backup promote %s --force'", target, target),
				"SOURCE %s answers and holds its marker (%s)", src, s)
		}
		epoch = max(epoch, s.Epoch)
	}
	m := *d.Marker
	m.Role, m.Epoch, m.Synced = RoleSource, epoch+1, nil
	if dryRun {
		return Promoted{Marker: &m}, nil
	}
	lock, _, err := AcquireLock(dst, "promote", 0)
	if err != nil {
		return Promoted{}, err
	}
	defer lock.Release()
	if err := WriteMarker(dst, &m); err != nil {
		return Promoted{}, err
	}
	// A source has no manifest: it would only confuse a later swap back.
	if err := dst.Remove(ManifestFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Promoted{Marker: &m}, err
	}
	return Promoted{Marker: &m}, nil
}

// pairMarker reads the marker of src when it answered and belongs to pair.
func pairMarker(src transport.FS, pair string) *Marker {
	if src == nil {
		return nil
	}
	s, err := ReadCopyState(src)
	if err != nil || s.Marker == nil || s.Marker.Pair != pair {
		return nil
	}
	return s.Marker
}

// promotedAlready decides a promote of a MIRROR copy d that is marked
// source already: done before when the SOURCE copy s is gone, a mirror,
// or a source at a lower epoch (a stale former source); refused when s is
// a source too at the same epoch (split brain) or above (d is the stale one).
func promotedAlready(target string, src transport.FS, s *Marker, d CopyState) (Promoted, error) {
	switch {
	case s == nil || s.Epoch < d.Marker.Epoch || (s.Role == RoleMirror && s.Epoch == d.Marker.Epoch):
		return Promoted{Marker: d.Marker, Already: true}, nil
	case s.Role == RoleSource && s.Epoch == d.Marker.Epoch:
		return Promoted{}, refuse("split-brain", splitBrainRemedy(target, d.Name),
			"split brain: both %s and %s claim to be the source at epoch %d", src, d.Name, s.Epoch)
	case s.Role == RoleSource:
		return Promoted{}, refuse("stale-mirror", staleMirrorRemedy(target, d.Name),
			"nothing to promote: MIRROR %s is a stale former source (epoch %d) and SOURCE %s is the source at epoch %d, as the table says", d.Name, d.Marker.Epoch, src, s.Epoch)
	}
	return Promoted{}, refuse("mirror-ahead", fmt.Sprintf("find out which copy is current: 'backup check %s' and 'backup status %s'", target, target),
		"SOURCE %s is marked mirror at epoch %d, ahead of MIRROR %s (source at epoch %d)", src, s.Epoch, d.Name, d.Marker.Epoch)
}

// Swap exchanges the roles of a healthy pair: a final run brings the mirror
// up to date, then, under the mirror's lock, the old source is demoted to
// mirror and the old mirror promoted to source, both at epoch+1; the
// demoted copy gets a manifest of what it holds. The table is the caller's
// to flip once Swap returns without error. Writes on the source must be
// stopped before: what lands after the final run is not carried over.
func Swap(ctx context.Context, src, dst transport.FS, opt RunOptions) (rep *Report, demoted, promoted *Marker, err error) {
	opt.defaults()
	if opt.DryRun {
		rep, err = Backup(ctx, src, dst, opt)
		return rep, nil, nil, err
	}
	lock, _, err := AcquireLock(dst, "swap", opt.LockStale)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() { lock.release(err) }()
	opt.lockHeld = true
	rep, err = Backup(ctx, src, dst, opt)
	if err != nil || opt.DryRun {
		return rep, nil, nil, err
	}
	sm, err := ReadMarker(src)
	if err != nil {
		return rep, nil, nil, err
	}
	dm, err := ReadMarker(dst)
	if err != nil {
		return rep, nil, nil, err
	}
	epoch := max(sm.Epoch, dm.Epoch) + 1
	demoted = new(*sm)
	demoted.Role, demoted.Epoch = RoleMirror, epoch
	demoted.Synced = &Synced{Source: dm.Copy, Epoch: epoch, Time: time.Now().UTC().Truncate(time.Second), Files: dm.Synced.Files, Bytes: dm.Synced.Bytes}
	promoted = new(*dm)
	promoted.Role, promoted.Epoch, promoted.Synced = RoleSource, epoch, nil
	if err := swapMarkers(src, dst, demoted, promoted, opt.Dirs); err != nil {
		return rep, nil, nil, err
	}
	return rep, demoted, promoted, nil
}

// swapMarkers writes the flipped markers: the demotion first, so that a
// crash in between leaves two mirrors (refused until resolved), never two
// sources.
func swapMarkers(src, dst transport.FS, demoted, promoted *Marker, dirs []string) error {
	old, err := ReadManifest(dst)
	if err != nil {
		return err
	}
	if err := WriteMarker(src, demoted); err != nil {
		return err
	}
	if err := WriteMarker(dst, promoted); err != nil {
		return err
	}
	if err := dst.Remove(ManifestFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entries, err := listScope(src, dirs, nil)
	if err != nil {
		return err
	}
	if err := writeManifest(src, manifestOf(entries, old)); err != nil {
		return err
	}
	return restoreRootTime(dst, src, dirs)
}

func scopeDirs(dirs []string) []string {
	if len(dirs) == 0 {
		return []string{"."}
	}
	return dirs
}
