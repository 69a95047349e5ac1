package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say what was done, also on success"},
	}
}

// env is what every command works with: the parsed command line, the
// writers, and the connections it opened.
type env struct {
	c      *cli.Context
	stdout io.Writer
	stderr io.Writer
	dialer dialer
	opened []transport.FS
}

func newEnv(c *cli.Context) *env {
	return &env{c: c, stdout: c.App.Writer, stderr: c.App.ErrWriter}
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

// table loads the backup table from its lookup path.
func (e *env) table() (*table.Table, error) {
	path, err := table.Find(e.c.String("table"))
	if err != nil {
		return nil, err
	}
	return table.Load(path)
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
		e.dialer = newDialer(e.c)
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

func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "backup: warning: "+format+"\n", args...)
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
