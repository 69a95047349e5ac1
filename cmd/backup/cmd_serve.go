package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/transport/serve"
)

// serveCommand is the helper the SSH transport starts on a remote host:
// it serves the tree at ROOT over the wire protocol on standard input and
// output, every request confined to ROOT by the kernel (package serve).
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a copy's tree to the tool over SSH (started by the tool itself)",
		ArgsUsage: "ROOT",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("serve takes exactly one ROOT")
			}
			return serve.Serve(c.Args().First(), os.Stdin, c.App.Writer)
		},
	}
}
