package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "list settings for a target (all without one), with each copy's role, epoch, last run and lock",
		ArgsUsage: "[target]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "table-only", Usage: "show the table's lines only; connect to no host"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			defer e.close()
			tab, err := e.table()
			if err != nil {
				return err
			}
			targets := tab.Targets
			if c.Args().Len() > 0 {
				targets = nil
				for _, name := range c.Args().Slice() {
					t, err := tab.Lookup(name)
					if err != nil {
						return err
					}
					targets = append(targets, t)
				}
			}
			for i, t := range targets {
				if i > 0 {
					e.printf("\n")
				}
				printTableLines(e, t)
				if !c.Bool("table-only") {
					printCopies(e, t)
				}
			}
			return nil
		},
	}
}

// printTableLines prints a target as the seed's status shows it.
func printTableLines(e *env, t *table.Target) {
	e.printf("target:  %s\n", t.Name)
	e.printf("source:  %s\n", t.Source)
	e.printf("mirror:  %s\n", t.Mirror)
	for _, d := range t.Dirs {
		e.printf("dir:     %s\n", d)
	}
}

// printCopies prints what each copy's marker, the mirror's last run and
// the lock say. An unreachable copy is shown as such, not as an error:
// status must work while a host is down.
func printCopies(e *env, t *table.Target) {
	var mirrorState *mirror.CopyState
	for _, side := range []struct {
		label string
		ep    table.Endpoint
	}{{"source copy", t.Source}, {"mirror copy", t.Mirror}} {
		fsys, err := e.open(side.ep)
		if err != nil {
			e.printf("%-13s unreachable: %v\n", side.label+":", err)
			continue
		}
		st, err := mirror.ReadCopyState(fsys)
		switch {
		case err != nil:
			e.printf("%-13s unreadable: %v\n", side.label+":", err)
			continue
		case st.Marker == nil && st.Empty:
			e.printf("%-13s empty, no marker (not mounted? not initialised?)\n", side.label+":")
		case st.Marker == nil:
			e.printf("%-13s no marker (not initialised: 'backup init %s')\n", side.label+":", t.Name)
		default:
			e.printf("%-13s %s\n", side.label+":", st.Marker)
		}
		if side.label == "mirror copy" {
			mirrorState = &st
			lock, err := mirror.ReadLock(fsys)
			switch {
			case err != nil:
				e.printf("lock:         unreadable: %v\n", err)
			case lock != nil:
				e.printf("lock:         held by %s\n", lock)
			default:
				e.printf("lock:         none\n")
			}
		}
	}
	if mirrorState != nil && mirrorState.Marker != nil {
		e.printf("last run:     %s\n", lastRun(mirrorState.Marker.Synced, time.Now()))
	}
}

func lastRun(s *mirror.Synced, now time.Time) string {
	if s == nil {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago), %d files, %s, from copy %s at epoch %d",
		s.Time.UTC().Format(time.RFC3339), now.Sub(s.Time).Round(time.Second), s.Files, mirror.HumanBytes(s.Bytes), s.Source, s.Epoch)
}
