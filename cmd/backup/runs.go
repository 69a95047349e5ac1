package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

// runState is what is known of one target's run once it started: the
// metrics file and the run record are written from it.
type runState struct {
	rep    *mirror.Report
	err    error        // the run's own error
	record transport.FS // the mirror copy the record went to; nil when none was written
}

// expandTargets returns the target names of a command line: "all" stands
// for every target of the table, in table order; each name once.
func expandTargets(e *env, args []string) ([]string, error) {
	var names []string
	for _, a := range args {
		if a != "all" {
			if !slices.Contains(names, a) {
				names = append(names, a)
			}
			continue
		}
		tab, err := e.table()
		if err != nil {
			return nil, err
		}
		for _, t := range tab.Targets {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	return names, nil
}

// eachTarget runs body for each named target, one after another, each in
// an env of its own (connections, lock, settings, result), writes the
// metrics file after each, and returns the worst error. With several
// targets each error is prefixed with its target's name.
func eachTarget(c *cli.Context, command string, names []string, body func(e *env, t *table.Target) error) error {
	var errs []error
	for _, name := range names {
		if err := targetRun(c, command, name, body); err != nil {
			errs = append(errs, &targetError{target: name, err: err, named: len(names) > 1})
		}
	}
	return worst(errs)
}

// targetRun runs body for the target name and then writes the metrics
// file (--metrics-file) with how it ended, unless it was a dry run.
func targetRun(c *cli.Context, command, name string, body func(e *env, t *table.Target) error) error {
	e := newEnv(c)
	defer e.close()
	e.log = e.log.With("target", name)
	start := time.Now()
	_, t, err := e.target(name)
	if err == nil {
		err = body(e, t)
	}
	path := c.String("metrics-file")
	if path == "" || t == nil || c.Bool("dry-run") || c.Bool("json") {
		return err
	}
	if merr := writeMetrics(path, e.metricsOf(command, name, start, err)); merr != nil {
		e.warnf("metrics file: %v", merr)
		if err == nil {
			err = errWarnings
		}
	}
	return err
}

// execute runs one run of t between the settings' hooks: fn calls
// mirror.Backup, Restore or Swap with opt. With withHooks, the before and
// after commands run on src (the SOURCE copy's host); a dry run runs none
// and says which it would run. A progress display shows while fn runs. Once
// it returned, how it ended is recorded on the copy recordOn names
// (LastRunFile) unless it was a dry run or refused: those write nothing.
func (e *env) execute(t *table.Target, opt *mirror.RunOptions, src transport.FS, withHooks bool,
	fn func() (*mirror.Report, error), recordOn func(err error) transport.FS) (*mirror.Report, error) {
	e.run = &runState{}
	if withHooks {
		if err := e.setHooks(t, opt, src); err != nil {
			return nil, err
		}
	}
	stop := e.startProgress(opt.Progress)
	rep, err := fn()
	stop()
	e.run.rep, e.run.err = rep, err
	if opt.DryRun || errors.Is(err, mirror.ErrRefused) {
		return rep, err
	}
	fsys := recordOn(err)
	lr := mirror.NewLastRun(opt.Command, runResult(rep, err), rep, err, opt.Window)
	if werr := mirror.WriteLastRun(fsys, lr); werr != nil {
		e.warnf("recording the run on %s: %v", fsys, werr)
	} else {
		e.run.record = fsys
	}
	return rep, err
}

// runResult classifies a run that got past the fences.
func runResult(rep *mirror.Report, err error) string {
	switch {
	case err != nil:
		return mirror.ResultFailed
	case rep != nil && (len(rep.Warnings) > 0 || (rep.Result != nil && len(rep.Result.Warnings) > 0)):
		return mirror.ResultWarnings
	}
	return mirror.ResultOK
}

// setHooks puts the target's before and after hooks from the settings
// into opt, to run on src. A dry run gets none; it prints which would run
// (on stdout with the plan, on stderr when the plan is JSON).
func (e *env) setHooks(t *table.Target, opt *mirror.RunOptions, src transport.FS) error {
	rs, err := e.targetSettings(t)
	if err != nil {
		return err
	}
	before, after := valueOr(rs.Before, ""), valueOr(rs.After, "")
	if opt.DryRun {
		w := e.stdout
		if e.c.Bool("json") {
			w = e.stderr
		}
		for _, h := range [][2]string{{"before", before}, {"after", after}} {
			if h[1] != "" {
				fmt.Fprintf(w, "would run the %s hook on %s (timeout %s): %s\n", h[0], src, hookTimeout(rs), h[1])
			}
		}
		if opt.Window > 0 {
			fmt.Fprintf(w, "the copy would have to fit in a freeze window of %s\n", opt.Window)
		}
		return nil
	}
	hooks, err := mirror.NewShellHooks(src, before, after, hookTimeout(rs), e.log)
	if err != nil {
		return err
	}
	if hooks != nil {
		opt.Hooks = hooks
	}
	return nil
}

// metricsOf describes how a target's command ended, for the metrics file.
func (e *env) metricsOf(command, target string, start time.Time, err error) metricsRun {
	m := metricsRun{Target: target, Command: command, Start: start, End: time.Now(), Result: resultNames[exitCode(err)]}
	if e.run != nil && e.run.rep != nil {
		rep := e.run.rep
		m.Start = rep.Start
		if !rep.End.IsZero() {
			m.End = rep.End
		}
		if r := rep.Result; r != nil {
			m.Files, m.Bytes, m.Deleted = int64(r.Files), r.Bytes, int64(r.Deleted)
		}
	}
	if m.Result == "ok" || m.Result == "warnings" {
		m.LastSuccess = m.End
	} else if e.run != nil && e.run.record != nil && command != "restore" {
		// Not complete: the last complete run is the mirror's to say.
		if mk, merr := mirror.ReadMarker(e.run.record); merr == nil && mk.Synced != nil {
			m.LastSuccess = mk.Synced.Time
		}
	}
	return m
}
