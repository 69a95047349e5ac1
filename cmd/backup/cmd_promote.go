package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

func promoteCommand() *cli.Command {
	return &cli.Command{
		Name:      "promote",
		Usage:     "unplanned failover: the mirror becomes the source (epoch+1) when the source is lost",
		ArgsUsage: "target",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "write-table", Usage: "rewrite the table with SOURCE and MIRROR exchanged (atomically)"},
			&cli.BoolFlag{Name: "force", Usage: "promote even though the source answers with its marker"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would change; write nothing"},
			&cli.DurationFlag{Name: "source-timeout", Usage: "how long to try the old source", Value: 10 * time.Second},
		},
		Action: func(c *cli.Context) error { return withTarget(c, promoteOne) },
	}
}

func promoteOne(e *env, tab *table.Table, t *table.Target) error {
	c := e.c
	dst, err := e.openCopy(t, t.Mirror, "MIRROR")
	src := e.tryOpen(t.Source, c.Duration("source-timeout"))
	if err != nil {
		return promoteUnreachable(t, src, err)
	}
	dry := c.Bool("dry-run")
	p, err := mirror.Promote(t.Name, src, dst, c.Bool("force"), dry)
	if err != nil {
		return err
	}
	switch {
	case p.Already:
		e.printf("%s is already the source (%s): no marker changed\n", t.Mirror, p.Marker)
	case dry:
		e.printf("would promote %s: %s\n", t.Mirror, p.Marker)
	default:
		e.printf("promoted %s: %s\n", t.Mirror, p.Marker)
	}
	oldSource := t.Source
	mode := tablePrint
	switch {
	case dry:
		mode = tableDry
	case c.Bool("write-table"):
		mode = tableWrite
	}
	if err := e.flipTable(tab, t, mode); err != nil {
		return err
	}
	if mode == tableWrite {
		e.printf("next: point the users at %s; nightly runs fail until %s is back, then refuse it as a stale former source: "+
			"'backup check %s' shows what only it holds, 'backup backup %s --discard-stale' makes it the mirror\n", t.Source, oldSource, t.Name, t.Name)
	}
	return nil
}

// promoteUnreachable explains a promote whose MIRROR copy cannot be
// reached: when the SOURCE answers as the source, there is nothing to
// promote (a promote already written to the table looks like this).
func promoteUnreachable(t *table.Target, src transport.FS, err error) error {
	if src == nil {
		return err
	}
	m, merr := mirror.ReadMarker(src)
	if merr != nil || m.Role != mirror.RoleSource || m.Target != t.Name {
		return err
	}
	reason := err.Error()
	if r := (*mirror.Refusal)(nil); errors.As(err, &r) {
		reason = r.Found
	}
	return &mirror.Refusal{Rule: "source-alive",
		Found: fmt.Sprintf("nothing to promote: MIRROR %s cannot be reached (%s), and SOURCE %s answers as the source (epoch %d), as the table says; a promote already written to the table looks like this",
			t.Mirror, reason, t.Source, m.Epoch),
		Remedy: fmt.Sprintf("'backup status %s'; once %s is back, 'backup backup %s' says what to do with it", t.Name, t.Mirror, t.Name)}
}

// tryOpen opens an endpoint that may be gone, giving up after timeout;
// nil means it did not answer.
func (e *env) tryOpen(ep table.Endpoint, timeout time.Duration) transport.FS {
	ctx, cancel := context.WithTimeout(e.ctx(), timeout)
	defer cancel()
	if e.dialer == nil {
		d, err := e.newDialer()
		if err != nil {
			e.warnf("%v", err)
			return nil
		}
		e.dialer = d
	}
	fsys, err := e.dialer.Dial(ctx, ep)
	if err != nil {
		e.warnf("%s does not answer: %v", ep, err)
		return nil
	}
	e.opened = append(e.opened, fsys)
	return fsys
}

// How flipTable hands the exchanged table over.
const (
	tablePrint = iota // print the lines the table must hold
	tableWrite        // rewrite the table file, atomically
	tableDry          // say what would be written
)

// flipTable exchanges SOURCE and MIRROR of t in the table: written back
// atomically, printed for the admin to apply, or (dry run) described.
func (e *env) flipTable(tab *table.Table, t *table.Target, mode int) error {
	oldSource, oldMirror := t.Source, t.Mirror
	if err := tab.SwapRoles(t.Name); err != nil {
		return err
	}
	switch mode {
	case tableWrite:
		if err := tab.WriteFile(); err != nil {
			return err
		}
		e.printf("table %s now says: SOURCE %s, MIRROR %s\n", tab.File, oldMirror, oldSource)
	case tableDry:
		e.printf("would rewrite table %s to say: SOURCE %s, MIRROR %s\n", tab.File, oldMirror, oldSource)
	default:
		e.printf("the table must now say ('backup promote %s --write-table' writes it and changes nothing else):\n TARGET  %s\n         SOURCE  %s\n         MIRROR  %s\n",
			t.Name, t.Name, oldMirror, oldSource)
	}
	return nil
}
