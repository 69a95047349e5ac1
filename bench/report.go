package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything a run measured; it is written as JSON.
type report struct {
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Quick     bool      `json:"quick"`
	Reps      int       `json:"reps"`
	Work      string    `json:"work"`
	CPUs      int       `json:"cpus"`
	GoVersion string    `json:"go_version"`
	Rsync     string    `json:"rsync_version"`
	SSH       string    `json:"ssh_version"`
	Helper    bool      `json:"remote_helper"`
	RemoteEnv string    `json:"remote_env"`    // what a remote command sees of the variables set for it
	Launcher  string    `json:"launcher"`      // the process that starts each tool: see measure
	RSSFloor  int64     `json:"rss_floor_kib"` // the launcher's own peak RSS: no figure is below it
	LoadAvg   [2]string `json:"load_avg"`      // /proc/loadavg at the start and the end: other work distorts the times
	Data      []data    `json:"data"`
	Scenarios []*result `json:"scenarios"`
}

type data struct {
	Name  string `json:"name"`
	What  string `json:"what"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

func (b *bench) newReport(scale int) *report {
	r := &report{
		Started: time.Now(), Quick: scale != 1, Reps: b.opt.n, Work: b.work, CPUs: runtime.NumCPU(),
		GoVersion: runtime.Version(), Helper: b.opt.helper, RemoteEnv: b.remoteEnv,
		Launcher: b.launcher, RSSFloor: b.rssFloor, LoadAvg: [2]string{loadAvg()},
		Rsync: firstLine("rsync", "--version"), SSH: firstLine("ssh", "-V"),
	}
	for _, d := range b.sets {
		r.Data = append(r.Data, data{Name: d.name, What: d.what, Files: len(d.files), Bytes: d.bytes()})
	}
	return r
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func firstLine(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

func (r *report) write(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(j, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nfigures written to %s\n", file)
	return nil
}

// print writes the table: median wall time, wire bytes (median) and peak
// RSS of each tool, and the backup/rsync ratios.
func (r *report) print(w io.Writer) {
	size := "full size"
	if r.Quick {
		size = "quick (data 1/20)"
	}
	fmt.Fprintf(w, "\nbackup vs %s, %s, median of %d runs, %d CPUs, remote helper %v\n", r.Rsync, size, r.Reps, r.CPUs, r.Helper)
	for _, d := range r.Data {
		fmt.Fprintf(w, "  %s: %s, %s\n", d.Name, d.What, human(d.Bytes))
	}
	fmt.Fprintf(w, "  load average at the start %s, at the end %s (on %d CPUs)\n", r.LoadAvg[0], r.LoadAvg[1], r.CPUs)
	fmt.Fprintf(w, "  remote session env: %s\n", r.RemoteEnv)
	fmt.Fprintf(w, "  peak RSS via %s (its own: %s, the floor of the RSS columns)\n", filepath.Base(r.Launcher), human(r.RSSFloor<<10))
	fmt.Fprintln(w)
	rows := [][]string{{"scenario", "backup", "rsync", "time b/r", "backup wire", "rsync wire", "wire b/r", "backup RSS", "rsync RSS"}}
	for _, s := range r.Scenarios {
		if s.Skipped != "" {
			rows = append(rows, []string{s.Title, "skipped", "", "", "", "", "", "", ""})
			continue
		}
		rows = append(rows, []string{
			s.Title, secs(s.Backup.MedianSeconds), secs(s.Rsync.MedianSeconds), fmt.Sprintf("%.2fx", s.TimeRatio),
			human(s.Backup.WireBytes), human(s.Rsync.WireBytes), fmt.Sprintf("%.2fx", s.BytesRatio),
			human(s.Backup.PeakRSSKiB << 10), human(s.Rsync.PeakRSSKiB << 10),
		})
	}
	printRows(w, rows)
	r.printWarnings(w)
}

// printWarnings lists each distinct warning once, with the tool and the
// scenarios (and how many runs) it came from.
func (r *report) printWarnings(w io.Writer) {
	var order []string
	where := map[string][]string{}
	for _, s := range r.Scenarios {
		if s.Skipped != "" {
			fmt.Fprintf(w, "\n%s skipped: %s\n", s.Key, s.Skipped)
		}
		for _, tw := range s.warnings {
			k := tw[0] + ": " + tw[1]
			if where[k] == nil {
				order = append(order, k)
			}
			where[k] = append(where[k], s.Key)
		}
	}
	for _, k := range order {
		fmt.Fprintf(w, "\nWARNING, %d runs (%s) -- %s\n", len(where[k]), strings.Join(slices.Compact(where[k]), ", "), k)
	}
}

func secs(s float64) string { return fmt.Sprintf("%.2f s", s) }

// printRows prints rows as a Markdown table with aligned columns, the
// first column left-aligned, the others right-aligned.
func printRows(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	line := func(row []string) {
		cells := make([]string, len(row))
		for i, c := range row {
			if i == 0 {
				cells[i] = fmt.Sprintf("%-*s", width[i], c)
			} else {
				cells[i] = fmt.Sprintf("%*s", width[i], c)
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	line(rows[0])
	sep := "|"
	for i, n := range width {
		if i == 0 {
			sep += strings.Repeat("-", n+2) + "|"
		} else {
			sep += strings.Repeat("-", n+1) + ":|"
		}
	}
	fmt.Fprintln(w, sep)
	for _, row := range rows[1:] {
		line(row)
	}
}
