package mirror

import (
	"errors"
	"fmt"
)

// ErrRefused is wrapped by every Refusal: a fence found a state in which
// going on could lose data, and nothing was written.
var ErrRefused = errors.New("refused")

// Refusal says what a fence found and what the admin can do about it.
type Refusal struct {
	Rule   string // stable short name, for tests and monitoring
	Found  string // what was found
	Remedy string // what to do
}

func (r *Refusal) Error() string {
	if r.Remedy == "" {
		return "refused: " + r.Found
	}
	return "refused: " + r.Found + "\n  what to do: " + r.Remedy
}

func (r *Refusal) Unwrap() error { return ErrRefused }

func refuse(rule, remedy, format string, args ...any) *Refusal {
	return &Refusal{Rule: rule, Found: fmt.Sprintf(format, args...), Remedy: remedy}
}

// CopyState is what a fence knows of one copy before a run.
type CopyState struct {
	Name   string  // the endpoint, for messages
	Marker *Marker // nil when the copy has none
	Empty  bool    // the root holds nothing but the tool's own names
}

// Verdict is a fence's go-ahead, with what the run must do differently.
type Verdict struct {
	// DiscardStale: the mirror position holds a stale former source; the
	// run demotes it to mirror and everything it replaces goes to the trash.
	DiscardStale bool
}

// FenceBackup decides whether a run from src (the table's SOURCE) into dst
// (the table's MIRROR) may write, from their markers alone (DESIGN §3). The
// rules that need the trees (empty source in scope, mirror changed outside
// the tool, max-delete) are checked once the plan is made.
func FenceBackup(target string, src, dst CopyState, discardStale bool) (Verdict, error) {
	if err := fenceIdentity(target, src, dst); err != nil {
		return Verdict{}, err
	}
	s, d := src.Marker, dst.Marker
	switch {
	case s.Role == RoleMirror && d.Role == RoleSource:
		return Verdict{}, refuse("table-swapped",
			fmt.Sprintf("put the table back with 'backup promote %s --write-table' (it changes no marker, only the table: SOURCE %s, MIRROR %s); to change roles later use 'backup swap %s' (both reachable) or 'backup promote %s' (source lost), never a hand edit", target, dst.Name, src.Name, target, target),
			"the table names %s as SOURCE, but its marker says it is the mirror, and %s (MIRROR in the table) says it is the source (epoch %d): the table was swapped by hand or points the wrong way", src.Name, dst.Name, d.Epoch)
	case s.Role == RoleMirror:
		return Verdict{}, refuse("no-source",
			fmt.Sprintf("an interrupted swap leaves this state, after its final sync: 'backup promote %s --write-table' finishes it (the MIRROR becomes the source); to keep the old roles, put the copy that is to be the source in the MIRROR position first", target),
			"neither %s nor %s is marked as source", src.Name, dst.Name)
	case d.Role == RoleSource && s.Epoch == d.Epoch:
		return Verdict{}, refuse("split-brain",
			splitBrainRemedy(target, dst.Name),
			"split brain: both %s and %s claim to be the source at epoch %d", src.Name, dst.Name, s.Epoch)
	case d.Role == RoleSource && d.Epoch > s.Epoch:
		return Verdict{}, refuse("stale-source",
			fmt.Sprintf("fix the table with 'backup promote %s --write-table' (it changes no marker, only the table: SOURCE %s, MIRROR %s); then 'backup check %s', save what you need from %s, and 'backup backup %s --discard-stale'", target, dst.Name, src.Name, target, src.Name, target),
			"SOURCE %s is a stale former source (epoch %d): %s became the source at epoch %d while it was away, and the table still names the stale copy as SOURCE; nothing can override this", src.Name, s.Epoch, dst.Name, d.Epoch)
	case d.Role == RoleSource && !discardStale:
		return Verdict{}, refuse("stale-mirror",
			staleMirrorRemedy(target, dst.Name),
			"MIRROR %s is a stale former source (epoch %d, the source %s is at epoch %d): it was failed over while away and may hold writes made after the failover", dst.Name, d.Epoch, src.Name, s.Epoch)
	case d.Role == RoleSource:
		return Verdict{DiscardStale: true}, nil
	case d.Epoch > s.Epoch:
		return Verdict{}, refuse("mirror-ahead",
			fmt.Sprintf("the source may be an old copy brought back; check both with 'backup check %s' and 'backup status %s'", target, target),
			"MIRROR %s has epoch %d, ahead of SOURCE %s at epoch %d", dst.Name, d.Epoch, src.Name, s.Epoch)
	}
	return Verdict{}, nil
}

// fenceIdentity checks that both copies are marked, belong to target and
// to one pair, and are two different copies.
func fenceIdentity(target string, src, dst CopyState) error {
	s, d := src.Marker, dst.Marker
	switch {
	case s == nil && src.Empty:
		return refuse("source-unmounted",
			fmt.Sprintf("check that %s is mounted (automounter, disk); to fill a new empty disk from the mirror use 'backup restore %s'", src.Name, target),
			"SOURCE %s is empty and has no identity marker: not mounted? Nothing will be deleted from the mirror because a source is absent", src.Name)
	case s == nil && d != nil:
		return refuse("source-unmarked",
			fmt.Sprintf("check that the right disk is mounted at %s; if it is and its files are the ones to keep, compare with 'backup check %s', remove the mirror's %s and make a new pair with 'backup init %s --adopt'", src.Name, target, MarkerFile, target),
			"SOURCE %s has files but no identity marker (%s), while MIRROR %s has one: the wrong disk is mounted, or its marker was lost", src.Name, MarkerFile, dst.Name)
	case s == nil:
		return refuse("source-unmarked",
			fmt.Sprintf("if this is the right disk, 'backup init %s' (the mirror must be empty), or 'backup init %s --adopt' when the mirror already holds a copy", target, target),
			"SOURCE %s has files but no identity marker (.backup-id): not initialised, or the wrong disk is mounted", src.Name)
	case d == nil:
		return refuse("mirror-unmarked",
			fmt.Sprintf("'backup init %s' (the mirror must be empty), or 'backup init %s --adopt' for a copy made by another tool, after 'backup check %s'", target, target, target),
			"MIRROR %s has no identity marker (.backup-id)", dst.Name)
	case s.Target != target || d.Target != target:
		return refuse("wrong-target", "check the table's SOURCE and MIRROR paths for this target",
			"the copies are stamped for targets %q (%s) and %q (%s), not %q", s.Target, src.Name, d.Target, dst.Name, target)
	case s.Pair != d.Pair:
		return refuse("pair-mismatch", "check the table's paths; a copy belongs to one pair only",
			"%s and %s belong to different pairs (%s, %s)", src.Name, dst.Name, s.Pair, d.Pair)
	case s.Copy == d.Copy:
		return refuse("same-copy", "SOURCE and MIRROR must be two different copies: check mounts, symlinks and the table",
			"%s and %s reach the same copy (copy id %s)", src.Name, dst.Name, s.Copy)
	}
	return nil
}

// FenceRestore decides whether a restore from mirror (the table's MIRROR)
// into source (the table's SOURCE) may write. An empty source without a
// marker is a replacement disk and may be filled; anything else needs the
// markers of one pair in their table roles.
func FenceRestore(target string, mirror, source CopyState) (Verdict, error) {
	if mirror.Marker == nil {
		return Verdict{}, refuse("mirror-unmarked", "check that the mirror is mounted and is the right copy",
			"MIRROR %s has no identity marker (.backup-id): nothing to restore from", mirror.Name)
	}
	if source.Marker == nil && source.Empty {
		return Verdict{}, nil
	}
	if source.Marker == nil {
		return Verdict{}, refuse("source-unmarked",
			"restore fills a marked source or an empty new disk; move these files away or 'backup init' the pair first",
			"SOURCE %s has files but no identity marker (.backup-id)", source.Name)
	}
	if err := fenceIdentity(target, source, mirror); err != nil {
		return Verdict{}, err
	}
	if source.Marker.Role != RoleSource || mirror.Marker.Role != RoleMirror {
		return Verdict{}, refuse("roles", fmt.Sprintf("see 'backup status %s'; role changes are made with promote and swap", target),
			"restore goes from the mirror to the source, but %s is marked %s and %s is marked %s",
			mirror.Name, mirror.Marker.Role, source.Name, source.Marker.Role)
	}
	return Verdict{}, nil
}

func splitBrainRemedy(target, mirrorName string) string {
	return fmt.Sprintf("compare them with 'backup check %s', merge by hand what each holds into the copy that is to stay the source, remove the %s of MIRROR %s, then 'backup init %s --adopt'", target, MarkerFile, mirrorName, target)
}

func staleMirrorRemedy(target, mirrorName string) string {
	return fmt.Sprintf("run 'backup check %s' to see what differs ('only on %s' is what the stale copy alone holds), save anything wanted from it, then 'backup backup %s --discard-stale' (what it replaces or deletes there goes to the trash)", target, mirrorName, target)
}
