package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "for every target (or those named): the table's lines, each copy's role and epoch, the last complete run, the last run's result, the lock",
		ArgsUsage: "[target...|all]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "table-only", Usage: "show the table's lines only; connect to no host"},
			&cli.BoolFlag{Name: "json", Usage: "print the status as JSON"},
			&cli.DurationFlag{Name: "max-age", Usage: "exit 1 when a target's last complete run is older than `DURATION` or unknown (for monitoring)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			defer e.close()
			targets, err := statusTargets(e)
			if err != nil {
				return err
			}
			now := time.Now()
			out := statusReport{Time: now.UTC().Truncate(time.Second), MaxAgeSeconds: c.Duration("max-age").Seconds(), Targets: []targetStatus{}}
			for _, t := range targets {
				st := targetStatus{Target: t.Name, Source: t.Source.String(), Mirror: t.Mirror.String(), Dirs: append([]string{}, t.Dirs...)}
				if !c.Bool("table-only") {
					e.copiesStatus(t, &st, now)
				}
				out.Targets = append(out.Targets, st)
			}
			tooOld := markTooOld(out.Targets, c.Duration("max-age"), c.Bool("table-only"))
			if c.Bool("json") {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				for i := range out.Targets {
					if i > 0 {
						e.printf("\n")
					}
					printStatus(e, &out.Targets[i], c.Bool("table-only"))
				}
			}
			for _, w := range tooOld {
				e.log.Warn(w[1], "target", w[0])
			}
			if len(tooOld) > 0 {
				return errWarnings // each target said why
			}
			return nil
		},
	}
}

// statusTargets returns the targets named on the command line ("all" or
// none: every target).
func statusTargets(e *env) ([]*table.Target, error) {
	tab, err := e.table()
	if err != nil {
		return nil, err
	}
	if e.c.Args().Len() == 0 {
		return tab.Targets, nil
	}
	names, err := expandTargets(e, e.c.Args().Slice())
	if err != nil {
		return nil, err
	}
	var targets []*table.Target
	for _, name := range names {
		t, err := tab.Lookup(name)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// statusReport is what status --json prints.
type statusReport struct {
	Time          time.Time      `json:"time"`                      // when status looked
	MaxAgeSeconds float64        `json:"max_age_seconds,omitempty"` // --max-age, when given
	Targets       []targetStatus `json:"targets"`
}

// targetStatus is one target: its table lines and, unless --table-only,
// what its copies say. Fields read from a copy are null when the copy
// did not say (unreachable, no marker, never run).
type targetStatus struct {
	Target       string          `json:"target"`
	Source       string          `json:"source"` // the table's SOURCE endpoint
	Mirror       string          `json:"mirror"` // the table's MIRROR endpoint
	Dirs         []string        `json:"dirs"`
	Copies       []copyStatus    `json:"copies,omitempty"` // the SOURCE copy, then the MIRROR copy
	Lock         *lockStatus     `json:"lock"`             // the holder of the lock on the mirror; null when free
	LastComplete *completeRun    `json:"last_complete"`    // the mirror's last complete run; null when none is known
	LastRun      *mirror.LastRun `json:"last_run"`         // how the last run that got past the fences ended
	TooOld       bool            `json:"too_old"`          // with --max-age: the last complete run is older, or unknown
}

// copyStatus is what one copy's root says.
type copyStatus struct {
	Position  string        `json:"position"` // "source" or "mirror": its place in the table
	Endpoint  string        `json:"endpoint"`
	Reachable bool          `json:"reachable"`
	Error     string        `json:"error,omitempty"` // why it could not be opened or read
	Empty     bool          `json:"empty"`           // nothing but the tool's names at its root
	Marker    *markerStatus `json:"marker"`          // null when the copy has no marker
}

type markerStatus struct {
	Target string `json:"target"`
	Role   string `json:"role"`
	Epoch  int64  `json:"epoch"`
	Pair   string `json:"pair"`
	Copy   string `json:"copy"`
}

type lockStatus struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Command string    `json:"command"`
	Text    string    `json:"-"`
}

// completeRun is the mirror marker's record of its last complete run.
type completeRun struct {
	Time       time.Time `json:"time"`
	AgeSeconds int64     `json:"age_seconds"`
	Files      int64     `json:"files"` // files and links in scope after it
	Bytes      int64     `json:"bytes"`
	SourceCopy string    `json:"source_copy"` // copy id of the source it came from
	Epoch      int64     `json:"epoch"`
}

// copiesStatus fills st from both copies. An unreachable copy is shown as
// such, not as an error: status must work while a host is down.
func (e *env) copiesStatus(t *table.Target, st *targetStatus, now time.Time) {
	for _, side := range []struct {
		position string
		ep       table.Endpoint
	}{{"source", t.Source}, {"mirror", t.Mirror}} {
		cs := copyStatus{Position: side.position, Endpoint: side.ep.String()}
		fsys, err := e.open(side.ep)
		if err != nil {
			cs.Error = err.Error()
			st.Copies = append(st.Copies, cs)
			continue
		}
		cs.Reachable = true
		state, err := mirror.ReadCopyState(fsys)
		if err != nil {
			cs.Error = err.Error()
			st.Copies = append(st.Copies, cs)
			continue
		}
		cs.Empty = state.Empty
		if m := state.Marker; m != nil {
			cs.Marker = &markerStatus{Target: m.Target, Role: m.Role, Epoch: m.Epoch, Pair: m.Pair, Copy: m.Copy}
		}
		st.Copies = append(st.Copies, cs)
		if side.position != "mirror" {
			continue
		}
		if m := state.Marker; m != nil && m.Synced != nil {
			s := m.Synced
			st.LastComplete = &completeRun{Time: s.Time.UTC(), AgeSeconds: int64(now.Sub(s.Time).Seconds()), Files: s.Files, Bytes: s.Bytes, SourceCopy: s.Source, Epoch: s.Epoch}
		}
		if lock, err := mirror.ReadLock(fsys); err != nil {
			e.warnf("%s: reading the lock: %v", t.Name, err)
		} else if lock != nil {
			st.Lock = &lockStatus{Host: lock.Host, PID: lock.PID, Started: lock.Started.UTC(), Command: lock.Command, Text: lock.String()}
		}
		if lr, err := mirror.ReadLastRun(fsys); err != nil {
			e.warnf("%s: reading the last run: %v", t.Name, err)
		} else {
			st.LastRun = lr
		}
	}
}

// markTooOld sets TooOld on every target whose last complete run is older
// than maxAge or unknown, and returns for each its name and why.
func markTooOld(targets []targetStatus, maxAge time.Duration, tableOnly bool) [][2]string {
	if maxAge <= 0 || tableOnly {
		return nil
	}
	var out [][2]string
	for i := range targets {
		st := &targets[i]
		var why string
		switch lc := st.LastComplete; {
		case lc == nil:
			why = "no complete run known (never run, or the mirror unreachable or unmarked)"
		case time.Duration(lc.AgeSeconds)*time.Second > maxAge:
			why = fmt.Sprintf("last complete run %s ago, older than --max-age %s", time.Duration(lc.AgeSeconds)*time.Second, maxAge)
		default:
			continue
		}
		st.TooOld = true
		out = append(out, [2]string{st.Target, why})
	}
	return out
}

// printStatus prints a target as the seed's status shows it, then what
// its copies say.
func printStatus(e *env, st *targetStatus, tableOnly bool) {
	e.printf("target:  %s\n", st.Target)
	e.printf("source:  %s\n", st.Source)
	e.printf("mirror:  %s\n", st.Mirror)
	for _, d := range st.Dirs {
		e.printf("dir:     %s\n", d)
	}
	if tableOnly {
		return
	}
	mirrorRead := false
	for _, cs := range st.Copies {
		label := cs.Position + " copy:"
		switch {
		case !cs.Reachable:
			e.printf("%-13s unreachable: %s\n", label, cs.Error)
		case cs.Error != "":
			e.printf("%-13s unreadable: %s\n", label, cs.Error)
		case cs.Marker == nil && cs.Empty:
			e.printf("%-13s empty, no marker (not mounted? not initialised?)\n", label)
		case cs.Marker == nil:
			e.printf("%-13s no marker (not initialised: 'backup init %s')\n", label, st.Target)
		default:
			m := cs.Marker
			e.printf("%-13s role %s, epoch %d, pair %s, copy %s\n", label, m.Role, m.Epoch, m.Pair, m.Copy)
		}
		mirrorRead = mirrorRead || (cs.Position == "mirror" && cs.Reachable && cs.Error == "")
	}
	if !mirrorRead {
		return
	}
	if st.Lock != nil {
		e.printf("lock:         held by %s\n", st.Lock.Text)
	} else {
		e.printf("lock:         none\n")
	}
	e.printf("complete run: %s\n", completeText(st.LastComplete))
	if st.LastRun != nil {
		e.printf("last run:     %s\n", st.LastRun)
		for _, w := range st.LastRun.Warnings {
			e.printf("              warning: %s\n", mirror.DisplayName(w))
		}
	} else {
		e.printf("last run:     none recorded\n")
	}
}

func completeText(lc *completeRun) string {
	if lc == nil {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago), %d files, %s, from copy %s at epoch %d",
		lc.Time.Format(time.RFC3339), time.Duration(lc.AgeSeconds)*time.Second, lc.Files, mirror.HumanBytes(lc.Bytes), lc.SourceCopy, lc.Epoch)
}
