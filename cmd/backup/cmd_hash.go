package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/transport"
)

// hashCommand prints BLAKE3 sums as b3sum does ("<hex>  <name>"). The SSH
// transport runs it on a remote host to hash files next to the data.
func hashCommand() *cli.Command {
	return &cli.Command{
		Name:      "hash",
		Usage:     "print BLAKE3 sums of files, like b3sum (used over SSH)",
		ArgsUsage: "file...",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			var failed error
			for _, name := range c.Args().Slice() {
				f, err := os.Open(name)
				if err != nil {
					failed = err
					e.warnf("%v", err)
					continue
				}
				sum, _, err := transport.HashReader(f)
				f.Close()
				if err != nil {
					failed = err
					e.warnf("%s: %v", name, err)
					continue
				}
				e.printf("%s  %s\n", sum, name)
			}
			return failed
		},
	}
}
