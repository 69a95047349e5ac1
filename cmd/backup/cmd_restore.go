package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore the mirror to the source (deletes nothing there unless --delete)",
		ArgsUsage: "target",
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "delete", Usage: "also delete on the source what the mirror lacks (into the source's trash)"},
		),
		Action: func(c *cli.Context) error {
			name, err := oneTarget(c)
			if err != nil {
				return err
			}
			return eachTarget(c, "restore", []string{name}, restoreOne)
		},
	}
}

// restoreOne restores one target. The hooks do not run: they freeze the
// application for a copy from the source, and a restore writes to it.
func restoreOne(e *env, t *table.Target) error {
	opt, err := runOptions(e, t, "restore")
	if err != nil {
		return err
	}
	opt.Delete = e.c.Bool("delete")
	mir, err := e.openCopy(t, t.Mirror, "MIRROR")
	if err != nil {
		return err
	}
	src, err := e.openCopy(t, t.Source, "SOURCE")
	if err != nil {
		return err
	}
	rep, err := e.execute(t, &opt, src, false,
		func() (*mirror.Report, error) { return mirror.Restore(e.ctx(), mir, src, opt) },
		func(error) transport.FS { return mir })
	return e.report(rep, err, opt.DryRun)
}
