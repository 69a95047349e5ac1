package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
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
			e := newEnv(c)
			defer e.close()
			_, t, err := e.target(name)
			if err != nil {
				return err
			}
			opt, err := runOptions(e, t, "restore")
			if err != nil {
				return err
			}
			opt.Delete = c.Bool("delete")
			mir, err := e.openCopy(t, t.Mirror, "MIRROR")
			if err != nil {
				return err
			}
			src, err := e.openCopy(t, t.Source, "SOURCE")
			if err != nil {
				return err
			}
			rep, err := mirror.Restore(e.ctx(), mir, src, opt)
			return e.report(rep, err, opt.DryRun)
		},
	}
}
