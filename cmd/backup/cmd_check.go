package main

import (
	"encoding/json"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
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
		Action: func(c *cli.Context) error {
			name, err := oneTarget(c)
			if err != nil {
				return err
			}
			e := newEnv(c)
			defer e.close()
			_, t, err := e.target(name)
			if err != nil {
				return err
			}
			dst, err := e.openCopy(t, t.Mirror, "MIRROR")
			if err != nil {
				return err
			}
			var rep *mirror.CheckReport
			refused := false
			if c.Bool("mirror-only") {
				rep, err = mirror.CheckManifest(e.ctx(), dst, t.Dirs, c.Int("workers"))
			} else {
				src, oerr := e.openCopy(t, t.Source, "SOURCE")
				if oerr != nil {
					return oerr
				}
				refused = e.reportFence(t.Name, src, dst)
				rep, err = mirror.Check(e.ctx(), src, dst, t.Dirs, c.Int("workers"))
			}
			if err != nil {
				return err
			}
			if err := e.printCheck(rep); err != nil || !refused {
				return err
			}
			return errWarnings
		},
	}
}

// reportFence says, without enforcing it, whether a backup would be
// refused now: check is read-only and compares in any case.
func (e *env) reportFence(target string, src, dst transport.FS) (refused bool) {
	s, serr := mirror.ReadCopyState(src)
	d, derr := mirror.ReadCopyState(dst)
	if err := errors.Join(serr, derr); err != nil {
		e.warnf("reading the markers: %v", err)
		return true
	}
	if _, err := mirror.FenceBackup(target, s, d, false); err != nil {
		e.warnf("a backup would be %v", err)
		return true
	}
	return false
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
		out = append(out, err.Error())
	}
	return out
}
