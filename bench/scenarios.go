package main

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// scenario is one line of the report: the same work done by each tool,
// repeated.
type scenario struct {
	key, title string
	set        *dataset
	dir        string // "push" or "pull"
	// prepRep, untimed, runs once per repetition before both tools: it
	// changes the source.
	prepRep func() error
	// prepTool, untimed, runs before each tool's timed run.
	prepTool func(t *tool) error
	cmd      func(t *tool) *exec.Cmd
	verify   bool // compare mirror and source with rsync after each run
	check    bool // a content check: backup's output is its report
}

// result is the outcome of a scenario, as printed and written as JSON.
type result struct {
	Key        string   `json:"key"`
	Title      string   `json:"title"`
	Direction  string   `json:"direction"` // push: the tool on the source host; pull: on the mirror host
	Backup     stats    `json:"backup"`
	Rsync      stats    `json:"rsync"`
	TimeRatio  float64  `json:"time_ratio"`  // backup/rsync, median wall times
	BytesRatio float64  `json:"bytes_ratio"` // backup/rsync, wire bytes
	Warnings   []string `json:"warnings,omitempty"`
	Skipped    string   `json:"skipped,omitempty"`

	warnings [][2]string // tool, text
}

// scenarios returns the scenarios for one direction. Each changes the
// source only through prepRep, which numbers its changes with b.changes so
// that no two repetitions (of either direction) make the same change.
func (b *bench) scenarios(pull bool) []*scenario {
	a, bb, c := b.sets[0], b.sets[1], b.sets[2]
	initial := func(d *dataset) *scenario {
		return &scenario{
			key: "initial-" + d.name, title: "initial copy " + d.name, set: d,
			prepTool: func(t *tool) error { return t.fresh(d) },
			cmd:      func(t *tool) *exec.Cmd { return t.copyCmd(d) }, verify: true,
		}
	}
	copyOf := func(d *dataset) func(t *tool) *exec.Cmd { return func(t *tool) *exec.Cmd { return t.copyCmd(d) } }
	scs := []*scenario{
		initial(a), initial(bb), initial(c),
		{key: "rerun-A", title: "no-change rerun A", set: a, cmd: copyOf(a), verify: true},
		{key: "change-A", title: "A: 1% modified, 1% deleted", set: a, cmd: copyOf(a), verify: true,
			prepRep: func() error { b.changes++; return b.mutateA(a, b.changes) }},
		{key: "change-C", title: "C: 1 MiB overwritten mid-file", set: c, cmd: copyOf(c), verify: true,
			prepRep: func() error { b.changes++; return b.mutateC(c, b.changes) }},
		{key: "check-B", title: "content check B", set: bb, check: true,
			cmd: func(t *tool) *exec.Cmd { return t.checkCmd(bb) }},
	}
	for _, sc := range scs {
		sc.dir = direction(pull, "push", "pull")
		if pull {
			sc.key, sc.title = "pull-"+sc.key, sc.title+" (pull)"
		}
	}
	return scs
}

// changedTime is the mtime of files changed by change number n (from 1):
// a year after the originals, distinct per change.
func changedTime(n int) time.Time {
	return baseTime.AddDate(1, 0, 0).Add(time.Duration(n) * time.Hour)
}

// mutateA, as change number n (from 1), rewrites 1 % of A's files (same
// size, new content and mtime) and deletes another 1 %, different files
// for each n.
func (b *bench) mutateA(d *dataset, n int) error {
	rep := n - 1
	k := max(1, len(d.files)/100)
	perm := rand.New(rand.NewPCG(0xA, 0x11)).Perm(len(d.files))
	at := func(i int) fileSpec { return d.files[perm[(2*k*rep+i)%len(perm)]] }
	for i := range k {
		if err := writeFile(b.src(d), at(i), n, changedTime(n)); err != nil {
			return err
		}
		err := os.Remove(filepath.Join(b.src(d), filepath.FromSlash(at(k+i).rel)))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// mutateC, as change number n (from 1), overwrites the middle MiB of C in
// place with new content.
func (b *bench) mutateC(d *dataset, n int) error {
	f := d.files[0]
	size := min(int64(blockSize), f.size)
	off := (f.size - size) / 2
	p := filepath.Join(b.src(d), filepath.FromSlash(f.rel))
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = writeRange(w, f, off, size, n)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chtimes(p, changedTime(n), changedTime(n))
}

// runScenario runs sc opt.n times for each tool, alternating which tool
// goes first. A scenario that cannot be run is marked skipped.
func (b *bench) runScenario(sc *scenario, tools []*tool) *result {
	res := &result{Key: sc.key, Title: sc.title, Direction: sc.dir}
	runs := map[string][]run{}
	for rep := range b.opt.n {
		if sc.prepRep != nil {
			if err := sc.prepRep(); err != nil {
				return res.skip(fmt.Errorf("changing the source: %v", err))
			}
		}
		order := slices.Clone(tools)
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			r, err := b.runOnce(sc, t, rep, res)
			if err != nil {
				return res.skip(err)
			}
			runs[t.name] = append(runs[t.name], r)
		}
	}
	res.Backup, res.Rsync = summarize(runs["backup"]), summarize(runs["rsync"])
	res.TimeRatio = ratio(res.Backup.MedianSeconds, res.Rsync.MedianSeconds)
	res.BytesRatio = ratio(float64(res.Backup.WireBytes), float64(res.Rsync.WireBytes))
	return res
}

func (res *result) skip(err error) *result {
	res.Skipped = err.Error()
	log.Printf("WARNING: %s skipped: %v", res.Key, err)
	return res
}

// runOnce is one tool's repetition: its untimed preparation, the timed
// run, the judgement of its exit and output, and the verification.
func (b *bench) runOnce(sc *scenario, t *tool, rep int, res *result) (run, error) {
	if sc.prepTool != nil {
		if err := sc.prepTool(t); err != nil {
			return run{}, err
		}
	}
	r, out, err := b.measure(sc.cmd(t))
	if err != nil {
		return r, fmt.Errorf("%s: %v", t.name, err)
	}
	log.Printf("  %-9s %-6s #%d  %8.2f s  cpu %6.2f s  wire %10s  rss %10s  exit %d",
		sc.key, t.name, rep+1, r.Seconds, r.User+r.Sys, human(r.WireBytes), human(r.MaxRSSKiB<<10), r.Exit)
	switch {
	case r.Exit != 0:
		res.warn(t.name, rep, fmt.Sprintf("exit %d:\n%s", r.Exit, tail(out, 10)))
	case sc.check && t.name == "backup":
	case strings.TrimSpace(out) != "":
		res.warn(t.name, rep, "printed (for a check: the differences):\n"+tail(out, 10))
	}
	if !sc.verify {
		return r, nil
	}
	diffs, err := b.verify(t, sc.set)
	if err != nil {
		return r, err
	}
	if len(diffs) > 0 {
		res.warn(t.name, rep, fmt.Sprintf("the mirror differs from the source (rsync -c -n -i lists %d entries):\n%s",
			len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "\n")))
	}
	return r, nil
}

// warn records a warning about a run of tool; the report groups equal
// ones.
func (res *result) warn(tool string, rep int, what string) {
	w := fmt.Sprintf("%s #%d: %s", tool, rep+1, what)
	log.Printf("WARNING: %s, %s", res.Key, w)
	res.Warnings = append(res.Warnings, w)
	res.warnings = append(res.warnings, [2]string{tool, what})
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
