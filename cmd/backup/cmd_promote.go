package main

import (
	"context"
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
	if err != nil {
		return err
	}
	src := e.tryOpen(t.Source, c.Duration("source-timeout"))
	m, err := mirror.Promote(t.Name, src, dst, c.Bool("force"), c.Bool("dry-run"))
	if err != nil {
		return err
	}
	verb := "promoted"
	if c.Bool("dry-run") {
		verb = "would promote"
	}
	e.printf("%s %s: %s\n", verb, t.Mirror, m)
	return e.flipTable(tab, t, c.Bool("write-table") && !c.Bool("dry-run"))
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

// flipTable exchanges SOURCE and MIRROR of t in the table: written back
// atomically when write is set, else printed for the admin to apply.
func (e *env) flipTable(tab *table.Table, t *table.Target, write bool) error {
	oldSource, oldMirror := t.Source, t.Mirror
	if err := tab.SwapRoles(t.Name); err != nil {
		return err
	}
	if write {
		if err := tab.WriteFile(); err != nil {
			return err
		}
		e.printf("table %s now says: SOURCE %s, MIRROR %s\n", tab.File, oldMirror, oldSource)
		return nil
	}
	e.printf("the table must now say (or rerun with --write-table):\n TARGET  %s\n         SOURCE  %s\n         MIRROR  %s\n", t.Name, oldMirror, oldSource)
	return nil
}
