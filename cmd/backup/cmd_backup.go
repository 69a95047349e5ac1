package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

// runFlags are the flags of every command that copies.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the full plan, itemized; write nothing"},
		&cli.BoolFlag{Name: "json", Usage: "print the plan as JSON"},
		&cli.BoolFlag{Name: "checksum", Aliases: []string{"c"}, Usage: "compare content by BLAKE3, not size and mtime"},
		&cli.StringFlag{Name: "max-delete", Usage: "refuse a run that would delete more than `N` files or N% of them", Value: "50%"},
		&cli.BoolFlag{Name: "no-trash", Usage: "delete for real instead of moving into .backup-trash"},
		&cli.IntFlag{Name: "workers", Usage: "concurrent transfers", Value: 8},
		&cli.StringFlag{Name: "metrics-file", Usage: "write the run's metrics to `FILE` (Prometheus textfile-collector format), atomically"},
	}
}

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "copy data from the source to the mirror, deletions included ('all': every target, one after another)",
		ArgsUsage: "target...|all",
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "discard-stale", Usage: "demote a stale former source standing as MIRROR (its replaced files go to the trash)"},
			&cli.BoolFlag{Name: "overwrite-mirror-changes", Usage: "send files changed on the mirror outside the tool to the trash and go on"},
		),
		Action: func(c *cli.Context) error {
			if c.Args().Len() == 0 {
				return usagef("backup: which target? ('backup targets' lists them; 'all' runs every one)")
			}
			names, err := expandTargets(newEnv(c), c.Args().Slice())
			if err != nil {
				return err
			}
			return eachTarget(c, "backup", names, backupOne)
		},
	}
}

// backupOne runs one target's backup: the settings' hooks on the source,
// the run, its record on the mirror.
func backupOne(e *env, t *table.Target) error {
	opt, err := runOptions(e, t, "backup")
	if err != nil {
		return err
	}
	src, dst, err := e.openBoth(t)
	if err != nil {
		return err
	}
	opt.DiscardStale = e.c.Bool("discard-stale")
	opt.OverwriteMirrorChanges = e.c.Bool("overwrite-mirror-changes")
	rep, err := e.execute(t, &opt, src, true,
		func() (*mirror.Report, error) { return mirror.Backup(e.ctx(), src, dst, opt) },
		func(error) transport.FS { return dst })
	return e.report(rep, err, opt.DryRun)
}

// parseMaxDelete reads "N" (files) or "N%" (share of the mirror's files).
func parseMaxDelete(s string) (mirror.MaxDelete, error) {
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(pct, 64)
		if err != nil || v < 0 || v > 100 {
			return mirror.MaxDelete{}, usagef(fmt.Sprintf("--max-delete %q: want a count or a share from 0%% to 100%%", s))
		}
		if v == 0 {
			return mirror.MaxDelete{Count: -1}, nil
		}
		return mirror.MaxDelete{Percent: v}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return mirror.MaxDelete{}, usagef(fmt.Sprintf("--max-delete %q: want a count or a share like 50%%", s))
	}
	if n == 0 {
		n = -1 // no deletions at all
	}
	return mirror.MaxDelete{Count: n}, nil
}

// report prints what a run found and did, and turns its outcome into the
// error that decides the exit code.
func (e *env) report(rep *mirror.Report, err error, dryRun bool) error {
	// A dry run prints its whole plan even when the plan is refused (the
	// refusal follows on stderr): what max-delete would stop must be seen.
	if rep != nil && rep.Plan != nil && (dryRun || (e.verbose() && !errors.Is(err, mirror.ErrRefused))) {
		if e.c.Bool("json") {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rep.Plan.JSON()); jerr != nil {
				return jerr
			}
		} else if perr := rep.Plan.WriteItemized(e.stdout); perr != nil {
			return perr
		}
	}
	var warnings []string
	if rep != nil {
		warnings = append(warnings, rep.Warnings...)
		if rep.Result != nil {
			warnings = append(warnings, rep.Result.Warnings...)
		}
	}
	for _, w := range warnings {
		e.warnf("%s", mirror.DisplayName(w))
	}
	if rep != nil && rep.Plan != nil && !dryRun {
		for _, n := range rep.Plan.Notes { // once per run (-v); the dry run's plan has them
			e.log.Info(mirror.DisplayName(n))
		}
	}
	if err != nil {
		return err
	}
	if rep.Result != nil && e.verbose() {
		r := rep.Result
		e.printf("done: %d files (%s) copied, %d dirs, %d links, %d metadata, %d deleted in %s\n",
			r.Files, mirror.HumanBytes(r.Bytes), r.Dirs, r.Links, r.Meta, r.Deleted, rep.End.Sub(rep.Start).Round(1e6))
	}
	if len(warnings) > 0 {
		return errWarnings
	}
	return nil
}

// worst returns the error with the highest exit code, nil if none.
func worst(errs []error) error {
	var w error
	for _, err := range errs {
		if w == nil || exitCode(err) > exitCode(w) {
			w = err
		}
	}
	if len(errs) > 1 {
		return &joined{worst: w, all: errs}
	}
	return w
}

// joined reports every error of several targets but exits as the worst.
type joined struct {
	worst error
	all   []error
}

func (j *joined) Error() string { return errors.Join(j.all...).Error() }
func (j *joined) Unwrap() error { return j.worst }
