package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "table", Usage: "backup table `FILE` (default: $BACKUP_TAB, ./backup.tab, /etc/backup.tab)"},
		&cli.StringFlag{Name: "ssh-config", Usage: "ssh_config `FILE` (default ~/.ssh/config)"},
		&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts `FILE` (default from ssh_config, else ~/.ssh/known_hosts)"},
		&cli.StringFlag{Name: "config", Usage: "settings `FILE` (default: $BACKUP_CONFIG, ./backup.toml, /etc/backup.toml; none is fine)"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say what was done, also on success (hook output included)"},
		&cli.StringFlag{Name: "log-format", Usage: "`FORMAT` of warnings, errors and hook output on stderr: text or json", Value: logText},
		&cli.BoolFlag{Name: "progress", Usage: "show progress on stderr even when it is not a terminal"},
		&cli.BoolFlag{Name: "no-progress", Usage: "show no progress, even on a terminal"},
	}
}

// checkGlobalFlags validates the global flags before any command runs and
// keeps the log format for the final error.
func checkGlobalFlags(c *cli.Context) error {
	format := c.String("log-format")
	if format != logText && format != logJSON {
		return usagef(fmt.Sprintf("--log-format %q: want text or json", format))
	}
	c.App.Metadata["log-format"] = format
	if c.Bool("progress") && c.Bool("no-progress") {
		return usagef("--progress and --no-progress exclude each other")
	}
	return nil
}

// env is what every command works with: the parsed command line, the
// writers, and the connections it opened.
type env struct {
	c        *cli.Context
	stdout   io.Writer
	stderr   io.Writer
	log      *slog.Logger
	dialer   dialer
	opened   []transport.FS
	tab      *table.Table
	settings *table.Settings
	run      *runState // the run of a target, once it started
}

func newEnv(c *cli.Context) *env {
	e := &env{c: c, stdout: c.App.Writer, stderr: c.App.ErrWriter}
	e.log = newLogger(e.stderr, c.String("log-format"), c.Bool("verbose"))
	return e
}

func (e *env) ctx() context.Context { return e.c.Context }

// close closes every FS the command opened and the shared connections.
func (e *env) close() {
	for _, f := range e.opened {
		_ = f.Close()
	}
	if e.dialer != nil {
		_ = e.dialer.Close()
	}
}

// table loads the backup table from its lookup path, once.
func (e *env) table() (*table.Table, error) {
	if e.tab != nil {
		return e.tab, nil
	}
	path, err := table.Find(e.c.String("table"))
	if err != nil {
		return nil, err
	}
	e.tab, err = table.Load(path)
	return e.tab, err
}

// target loads the table and looks up the named target.
func (e *env) target(name string) (*table.Table, *table.Target, error) {
	tab, err := e.table()
	if err != nil {
		return nil, nil, err
	}
	t, err := tab.Lookup(name)
	return tab, t, err
}

// open connects to an endpoint. A local root that does not exist is
// reported as such: the fences decide what that means.
func (e *env) open(ep table.Endpoint) (transport.FS, error) {
	if e.dialer == nil {
		d, err := e.newDialer()
		if err != nil {
			return nil, err
		}
		e.dialer = d
	}
	fsys, err := e.dialer.Dial(e.ctx(), ep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	e.opened = append(e.opened, fsys)
	return fsys, nil
}

func (e *env) verbose() bool { return e.c.Bool("verbose") }

func (e *env) printf(format string, args ...any) { fmt.Fprintf(e.stdout, format, args...) }

// warnf logs a warning (a line on stderr, or a JSON record).
func (e *env) warnf(format string, args ...any) {
	e.log.Warn(fmt.Sprintf(format, args...))
}

// isRoot reports whether owners can be kept.
func isRoot() bool { return os.Geteuid() == 0 }

// openCopy opens one copy of target t. A root that does not exist is a
// refusal, not an I/O error: an unmounted disk must stop a run, not be
// taken for an empty tree.
func (e *env) openCopy(t *table.Target, ep table.Endpoint, position string) (transport.FS, error) {
	fsys, err := e.open(ep)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &mirror.Refusal{Rule: strings.ToLower(position) + "-missing",
			Found:  fmt.Sprintf("%s %s does not exist: not mounted?", position, ep),
			Remedy: fmt.Sprintf("mount it (check the automounter) and see 'backup status %s'", t.Name)}
	}
	return fsys, err
}

// openBoth opens the SOURCE and the MIRROR copy of t, in that order.
func (e *env) openBoth(t *table.Target) (src, dst transport.FS, err error) {
	if src, err = e.openCopy(t, t.Source, "SOURCE"); err != nil {
		return nil, nil, err
	}
	if dst, err = e.openCopy(t, t.Mirror, "MIRROR"); err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// withTarget runs fn for the one target named on the command line, with
// the table it came from; the env's connections close when fn returns.
func withTarget(c *cli.Context, fn func(e *env, tab *table.Table, t *table.Target) error) error {
	name, err := oneTarget(c)
	if err != nil {
		return err
	}
	e := newEnv(c)
	defer e.close()
	tab, t, err := e.target(name)
	if err == nil {
		err = fn(e, tab, t)
	}
	if err != nil {
		return &targetError{target: name, err: err}
	}
	return nil
}

// targetError is what went wrong with one target: the log records carry
// its name as a field. named: the text names it too (several targets).
type targetError struct {
	target string
	err    error
	named  bool
}

func (e *targetError) Error() string {
	if e.named {
		return e.target + ": " + e.err.Error()
	}
	return e.err.Error()
}

func (e *targetError) Unwrap() error { return e.err }
