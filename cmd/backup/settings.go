package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
)

// loadSettings finds (--config, $BACKUP_CONFIG, ./backup.toml,
// /etc/backup.toml) and loads the settings once per command. No file is
// fine: everything has a default.
func (e *env) loadSettings() (*table.Settings, error) {
	if e.settings != nil {
		return e.settings, nil
	}
	s, err := table.LoadSettings(table.FindSettings(e.c.String("config")))
	if err != nil {
		return nil, err
	}
	e.settings = s
	return s, nil
}

// targetSettings returns the settings of t's runs ([defaults] overridden
// by [targets.<t>]), after checking that every [targets.<name>] names a
// target of the table: a misspelt one would silently lose its hooks.
func (e *env) targetSettings(t *table.Target) (table.RunSettings, error) {
	s, err := e.loadSettings()
	if err != nil {
		return table.RunSettings{}, err
	}
	tab, err := e.table()
	if err != nil {
		return table.RunSettings{}, err
	}
	var names []string
	for _, tt := range tab.Targets {
		names = append(names, tt.Name)
	}
	if err := s.CheckTargets(names); err != nil {
		return table.RunSettings{}, err
	}
	return s.For(t.Name), nil
}

// runOptions builds a run's options: a flag given on the command line
// wins, then the target's settings, then the defaults, then the flag's
// default value.
func runOptions(e *env, t *table.Target, command string) (mirror.RunOptions, error) {
	rs, err := e.targetSettings(t)
	if err != nil {
		return mirror.RunOptions{}, err
	}
	md, err := parseMaxDelete(flagOr(e.c, "max-delete", rs.MaxDelete, e.c.String))
	if err != nil {
		return mirror.RunOptions{}, err
	}
	return mirror.RunOptions{
		Target:         t.Name,
		Dirs:           t.Dirs,
		Checksum:       flagOr(e.c, "checksum", rs.Checksum, e.c.Bool),
		DryRun:         e.c.Bool("dry-run") || e.c.Bool("json"),
		MaxDelete:      md,
		NoTrash:        e.c.Bool("no-trash"),
		TrashRetention: valueOr(rs.TrashRetention, 0),
		LockStale:      valueOr(rs.LockStale, 0),
		Workers:        flagOr(e.c, "workers", rs.Workers, e.c.Int),
		Owners:         isRoot(),
		Sparse:         valueOr(rs.Sparse, true),
		HardLinks:      valueOr(rs.HardLinks, true),
		Xattrs:         valueOr(rs.Xattrs, true),
		Window:         valueOr(rs.Window, 0),
		Progress:       &mirror.Progress{},
		Command:        command + " " + t.Name,
	}, nil
}

// flagOr returns the flag's value when it was given, else the setting when
// there is one, else the flag's default.
func flagOr[T any](c *cli.Context, name string, setting *T, get func(string) T) T {
	if setting != nil && !c.IsSet(name) {
		return *setting
	}
	return get(name)
}

func valueOr[T any](p *T, def T) T {
	if p != nil {
		return *p
	}
	return def
}

// hookTimeout is the timeout of t's hooks.
func hookTimeout(rs table.RunSettings) time.Duration {
	return valueOr(rs.HookTimeout, mirror.DefaultHookTimeout)
}
