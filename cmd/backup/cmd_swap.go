package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
)

func swapCommand() *cli.Command {
	return &cli.Command{
		Name:      "swap",
		Usage:     "planned switchover: final sync, then markers and table flip together (epoch+1)",
		ArgsUsage: "target",
		Flags:     runFlags(),
		Action: func(c *cli.Context) error {
			name, err := oneTarget(c)
			if err != nil {
				return err
			}
			e := newEnv(c)
			defer e.close()
			tab, t, err := e.target(name)
			if err != nil {
				return err
			}
			opt, err := runOptions(e, t, "swap")
			if err != nil {
				return err
			}
			src, err := e.openCopy(t, t.Source, "SOURCE")
			if err != nil {
				return err
			}
			dst, err := e.openCopy(t, t.Mirror, "MIRROR")
			if err != nil {
				return err
			}
			rep, demoted, promoted, err := mirror.Swap(e.ctx(), src, dst, opt)
			if err != nil || opt.DryRun {
				return e.report(rep, err, opt.DryRun)
			}
			oldSource, oldMirror := t.Source, t.Mirror // flipTable exchanges them
			if err := e.flipTable(tab, t, true); err != nil {
				return err
			}
			e.printf("%s: %s\n%s: %s\n", oldSource, demoted, oldMirror, promoted)
			return e.report(rep, nil, false)
		},
	}
}
