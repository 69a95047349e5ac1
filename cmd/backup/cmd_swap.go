package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
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
			return eachTarget(c, "swap", []string{name}, swapOne)
		},
	}
}

// swapOne swaps one target's roles; its final sync runs between the
// settings' hooks like a backup. The run is recorded on the copy that is
// the mirror afterwards.
func swapOne(e *env, t *table.Target) error {
	tab, err := e.table()
	if err != nil {
		return err
	}
	opt, err := runOptions(e, t, "swap")
	if err != nil {
		return err
	}
	src, dst, err := e.openBoth(t)
	if err != nil {
		return err
	}
	var demoted, promoted *mirror.Marker
	rep, err := e.execute(t, &opt, src, true,
		func() (rep *mirror.Report, err error) {
			rep, demoted, promoted, err = mirror.Swap(e.ctx(), src, dst, opt)
			return rep, err
		},
		func(err error) transport.FS {
			if err == nil {
				return src // demoted: the mirror now
			}
			return dst
		})
	if err != nil || opt.DryRun {
		return e.report(rep, err, opt.DryRun)
	}
	oldSource, oldMirror := t.Source, t.Mirror // flipTable exchanges them
	if err := e.flipTable(tab, t, tableWrite); err != nil {
		return err
	}
	e.printf("%s: %s\n%s: %s\n", oldSource, demoted, oldMirror, promoted)
	return e.report(rep, nil, false)
}
