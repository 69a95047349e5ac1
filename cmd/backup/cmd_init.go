package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "stamp a new pair: identity markers on source and mirror (the mirror must be empty)",
		ArgsUsage: "target",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "adopt", Usage: "accept a mirror that already holds a copy made by another tool (check it first)"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be stamped; write nothing"},
		},
		Action: func(c *cli.Context) error { return withTarget(c, initOne) },
	}
}

func initOne(e *env, _ *table.Table, t *table.Target) error {
	src, dst, err := e.openBoth(t)
	if err != nil {
		return err
	}
	dryRun := e.c.Bool("dry-run")
	sm, dm, err := mirror.Init(src, dst, t.Name, e.c.Bool("adopt"), dryRun)
	if err != nil {
		return err
	}
	verb := "stamped"
	if dryRun {
		verb = "would stamp"
	}
	e.printf("%s %s: %s\n", verb, t.Source, sm)
	e.printf("%s %s: %s\n", verb, t.Mirror, dm)
	if !dryRun {
		e.printf("next: 'backup backup %s'\n", t.Name)
	}
	return nil
}
