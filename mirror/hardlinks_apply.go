package mirror

import (
	"context"
	"fmt"

	"github.com/mirrorfence/mirrorfence/transport"
)

// linkAll makes the planned hard links, once every copy is in place: each
// as a link under a temporary name renamed over the member's name (the old
// file kept in the trash), so the name never goes missing. A link whose
// group's first member was not copied is not made: it would join the old
// content.
func (ap *applier) linkAll(ctx context.Context) {
	copied := make(map[string]*Action)
	for i := range ap.p.Actions {
		a := &ap.p.Actions[i]
		if a.Op == OpCopy || a.Op == OpUpdate {
			copied[a.Path] = a
		}
	}
	for i := range ap.p.Actions {
		a := &ap.p.Actions[i]
		if a.Op != OpHardlink || ctx.Err() != nil {
			continue
		}
		if c := copied[a.LinkTo]; c != nil && !ap.doneAction(c) {
			ap.fail(fmt.Errorf("%s: not linked to %s, which was not copied", DisplayName(a.Path), DisplayName(a.LinkTo)))
			continue
		}
		if err := ap.hardlink(a); err != nil {
			ap.fail(err)
			continue
		}
		ap.did(a)
	}
}

func (ap *applier) doneAction(a *Action) bool {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	return ap.res.done[a]
}

// hardlink makes a.Path a link of a.LinkTo.
func (ap *applier) hardlink(a *Action) error {
	linker, ok := ap.dst.(transport.Linker)
	if !ok {
		return fmt.Errorf("%s: %s cannot make hard links: %w", DisplayName(a.Path), ap.dst, transport.ErrNotSupported)
	}
	tmp := ap.tempName(a.Path)
	if err := linker.Link(a.LinkTo, tmp); err != nil {
		return err
	}
	if err := ap.install(tmp, a); err != nil {
		return err
	}
	ap.mu.Lock()
	ap.res.Hardlinks++
	ap.mu.Unlock()
	return nil
}
