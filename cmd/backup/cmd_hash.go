package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/transport"
)

// hashCommand prints BLAKE3 sums exactly as b3sum does ("<hex>  <name>",
// in argument order). The SSH transport runs it on a remote host to hash
// files next to the data when b3sum is not installed there.
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
				e.printf("%s\n", sumLine(sum, name))
			}
			return failed
		},
	}
}

// sumLine formats one line as b3sum does: a name holding a backslash, a
// newline or a carriage return is escaped, and the line then starts with
// a backslash.
func sumLine(sum transport.Sum, name string) string {
	if !strings.ContainsAny(name, "\\\n\r") {
		return sum.String() + "  " + name
	}
	esc := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(name)
	return `\` + sum.String() + "  " + esc
}

// blocksCommand prints the BLAKE3 sums of a file's fixed-size blocks, one
// per line. The SSH transport runs it on a remote host so that a large
// file that changed in place travels as its changed blocks only.
func blocksCommand() *cli.Command {
	return &cli.Command{
		Name:      "blocks",
		Usage:     "print BLAKE3 sums of a file's blocks (used over SSH)",
		ArgsUsage: "file",
		Hidden:    true,
		Flags:     []cli.Flag{&cli.Int64Flag{Name: "size", Value: 1 << 20, Usage: "block size in bytes"}},
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 || c.Int64("size") <= 0 {
				return usagef("blocks: one file and a positive --size")
			}
			f, err := os.Open(c.Args().First())
			if err != nil {
				return err
			}
			defer f.Close()
			sums, err := transport.HashBlocksOf(f, c.Int64("size"))
			if err != nil {
				return err
			}
			e := newEnv(c)
			for _, s := range sums {
				e.printf("%s\n", s)
			}
			return nil
		},
	}
}
