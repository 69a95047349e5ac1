package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// run is the whole CLI: it parses args (args[0] is the program name), runs
// the command with ctx, writes to stdout and stderr, and returns the exit
// code. Tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, normalizeArgs(app, args))
	code := exitCode(err)
	if err != nil {
		format, _ := app.Metadata["log-format"].(string)
		logFinal(stderr, format, err, code)
	}
	return code
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:            "backup",
		Usage:           "keep fenced mirror copies of directory trees over SSH",
		UsageText:       "backup [global options] command [options] [target]\n   backup -backup elixir   (the legacy spelling works too)",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Flags:           globalFlags(),
		Commands:        commands(),
		Metadata:        map[string]any{},
		Before:          checkGlobalFlags,
		ExitErrHandler:  func(*cli.Context, error) {}, // run maps errors to exit codes
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usagef(err.Error())
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(stderr, "backup: unknown command %q; commands: %s\n", name, strings.Join(commandNames(), ", "))
		},
	}
	app.Action = func(c *cli.Context) error {
		if c.Args().Len() > 0 {
			return usagef(fmt.Sprintf("unknown command %q; commands: %s", c.Args().First(), strings.Join(commandNames(), ", ")))
		}
		_ = cli.ShowAppHelp(c)
		return usagef("no command given")
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = app.OnUsageError
	}
	return app
}

func commands() []*cli.Command {
	return []*cli.Command{
		targetsCommand(), statusCommand(), backupCommand(), restoreCommand(), checkCommand(),
		initCommand(), promoteCommand(), swapCommand(), hashCommand(), blocksCommand(), serveCommand(),
	}
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return names
}

// normalizeArgs turns the legacy spelling ("backup -backup elixir") into
// the command form, and moves a command's flags that follow its target in
// front of it, since flags are accepted on either side of the target.
func normalizeArgs(app *cli.App, args []string) []string {
	out := append([]string{}, args[:1]...)
	rest := args[1:]
	// Global flags come first.
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") && !isLegacyVerb(app, rest[0]) {
		n := 1
		if takesValue(app.Flags, rest[0]) {
			n = 2
		}
		n = min(n, len(rest))
		out, rest = append(out, rest[:n]...), rest[n:]
	}
	if len(rest) == 0 {
		return out
	}
	verb := strings.TrimLeft(rest[0], "-")
	cmd := app.Command(verb)
	if cmd == nil {
		return append(out, rest...)
	}
	global, own := splitGlobal(app.Flags, cmd.Flags, rest[1:])
	out = append(append(out, global...), verb)
	return append(out, flagsFirst(cmd.Flags, own)...)
}

// splitGlobal takes out of a command's args the global flags (with their
// values) that the command itself does not define, so "backup elixir -v"
// works like "backup -v elixir".
func splitGlobal(globalFlags, cmdFlags []cli.Flag, args []string) (global, own []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return global, append(own, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || isFlag(cmdFlags, a) || !isFlag(globalFlags, a) {
			own = append(own, a)
			continue
		}
		global = append(global, a)
		if takesValue(globalFlags, a) && i+1 < len(args) {
			global = append(global, args[i+1])
			i++
		}
	}
	return global, own
}

func isLegacyVerb(app *cli.App, arg string) bool {
	return strings.HasPrefix(arg, "-") && app.Command(strings.TrimLeft(arg, "-")) != nil && !isFlag(app.Flags, arg)
}

// flagsFirst reorders args so that flags (with their values) precede the
// positional arguments; "--" ends the flags.
func flagsFirst(flags []cli.Flag, args []string) []string {
	var fl, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			fl = append(fl, a)
			if takesValue(flags, a) && i+1 < len(args) {
				fl = append(fl, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(fl, pos...)
}

func flagName(arg string) string {
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

func findFlag(flags []cli.Flag, arg string) cli.Flag {
	name := flagName(arg)
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func isFlag(flags []cli.Flag, arg string) bool { return findFlag(flags, arg) != nil }

// takesValue reports whether arg is a flag that takes the next argument
// as its value.
func takesValue(flags []cli.Flag, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	f := findFlag(flags, arg)
	if f == nil {
		return false
	}
	if _, ok := f.(*cli.BoolFlag); ok {
		return false
	}
	return true
}

// oneTarget returns the single target argument of a command.
func oneTarget(c *cli.Context) (string, error) {
	switch c.Args().Len() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usagef(fmt.Sprintf("%s: which target? ('backup targets' lists them)", c.Command.Name))
	default:
		return "", usagef(fmt.Sprintf("%s: one target, got %q", c.Command.Name, c.Args().Slice()))
	}
}
