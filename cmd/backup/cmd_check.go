package main

import (
	"encoding/json"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "compare source and mirror by content (BLAKE3), read-only",
		ArgsUsage: "target",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "mirror-only", Usage: "verify the mirror against its manifest, without the source"},
			&cli.BoolFlag{Name: "json", Usage: "print the differences as JSON"},
			&cli.IntFlag{Name: "workers", Usage: "concurrent hashes", Value: 8},
		},
		Action: func(c *cli.Context) error { return withTarget(c, checkOne) },
	}
}

func checkOne(e *env, _ *table.Table, t *table.Target) error {
	workers := e.c.Int("workers")
	dst, err := e.openCopy(t, t.Mirror, "MIRROR")
	if err != nil {
		return err
	}
	var rep *mirror.CheckReport
	refused := false
	if e.c.Bool("mirror-only") {
		rep, err = mirror.CheckManifest(e.ctx(), dst, t.Dirs, workers)
	} else {
		src, oerr := e.openCopy(t, t.Source, "SOURCE")
		if oerr != nil {
			return oerr
		}
		refused = e.reportFence(t, src, dst)
		prog := &mirror.Progress{}
		stop := e.startProgress(prog)
		rep, err = mirror.CheckProgress(e.ctx(), src, dst, t.Dirs, workers, prog)
		stop()
	}
	if err != nil {
		return err
	}
	if err := e.printCheck(rep); err != nil || !refused {
		return err
	}
	return errWarnings
}

// reportFence says, without enforcing it, whether a backup would be
// refused now, by its dry run: the fences on the markers and on the plan,
// and the lock. check is read-only and compares in any case.
func (e *env) reportFence(t *table.Target, src, dst transport.FS) (refused bool) {
	rep, err := mirror.Backup(e.ctx(), src, dst, mirror.RunOptions{Target: t.Name, Dirs: t.Dirs, DryRun: true, Owners: isRoot()})
	if err != nil {
		if errors.Is(err, mirror.ErrRefused) {
			e.warnf("a backup would be %v", err)
		} else {
			e.warnf("a backup would fail: %v", err)
		}
		return true
	}
	for _, w := range rep.Warnings {
		e.warnf("%s", w)
	}
	return len(rep.Warnings) > 0
}

func (e *env) printCheck(rep *mirror.CheckReport) error {
	if e.c.Bool("json") {
		out := struct {
			Differences  []mirror.Difference `json:"differences"`
			SourceErrors []string            `json:"source_errors"`
			MirrorErrors []string            `json:"mirror_errors"`
			Files        int                 `json:"files"`
		}{Differences: append([]mirror.Difference{}, rep.Differences...), SourceErrors: errorStrings(rep.SourceErrors), MirrorErrors: errorStrings(rep.DestErrors), Files: rep.Files}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if err := rep.Write(e.stdout); err != nil {
		return err
	}
	if errs := append(rep.SourceErrors, rep.DestErrors...); len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(rep.Differences) > 0 {
		return errDifferences
	}
	return nil
}

func errorStrings(errs []error) []string {
	out := []string{}
	for _, err := range errs {
		out = append(out, mirror.DisplayName(err.Error()))
	}
	return out
}
