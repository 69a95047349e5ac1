package main

import "github.com/urfave/cli/v2"

func targetsCommand() *cli.Command {
	return &cli.Command{
		Name:  "targets",
		Usage: "list available targets",
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.Args().Len() > 0 {
				return usagef("targets takes no arguments")
			}
			tab, err := e.table()
			if err != nil {
				return err
			}
			e.printf("available targets:\n")
			for _, t := range tab.Targets {
				e.printf("  %s\n", t.Name)
			}
			return nil
		},
	}
}
