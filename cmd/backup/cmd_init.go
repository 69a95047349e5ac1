package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
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
			src, err := e.openCopy(t, t.Source, "SOURCE")
			if err != nil {
				return err
			}
			dst, err := e.openCopy(t, t.Mirror, "MIRROR")
			if err != nil {
				return err
			}
			sm, dm, err := mirror.Init(src, dst, t.Name, c.Bool("adopt"), c.Bool("dry-run"))
			if err != nil {
				return err
			}
			verb := "stamped"
			if c.Bool("dry-run") {
				verb = "would stamp"
			}
			e.printf("%s %s: %s\n", verb, t.Source, sm)
			e.printf("%s %s: %s\n", verb, t.Mirror, dm)
			if !c.Bool("dry-run") {
				e.printf("next: 'backup backup %s'\n", t.Name)
			}
			return nil
		},
	}
}
