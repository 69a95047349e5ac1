package main

import (
	"fmt"
	"github.com/mirrorfence/mirrorfence/transport"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// resultNames names the exit codes in the metrics file (backup_result).
var resultNames = [...]string{exitOK: "ok", exitWarnings: "warnings", exitUsage: "usage", exitRefused: "refused", exitFailed: "failed"}

// metricsRun is how one command on one target ended.
type metricsRun struct {
	Target, Command       string
	Start, End            time.Time
	Result                string // one of resultNames
	Files, Bytes, Deleted int64
	// LastSuccess is the end of the last run of this command on this
	// target that completed (ok or warnings); zero when not known here,
	// and then the value already in the file is kept.
	LastSuccess time.Time
}

// metricFamily is one metric of the file, in the order written.
type metricFamily struct {
	name, help string
	value      func(m metricsRun) string
}

var metricFamilies = []metricFamily{
	{"backup_last_success_timestamp_seconds", "Unix time at which the last complete run (result ok or warnings) of the command on the target ended; 0 when none is known.",
		func(m metricsRun) string { return unixText(m.LastSuccess) }},
	{"backup_last_run_timestamp_seconds", "Unix time at which the last run of the command on the target ended, whatever its result.",
		func(m metricsRun) string { return unixText(m.End) }},
	{"backup_duration_seconds", "How long the last run took, in seconds.",
		func(m metricsRun) string { return strconv.FormatFloat(m.End.Sub(m.Start).Seconds(), 'f', 3, 64) }},
	{"backup_files_transferred", "Files the last run copied or updated.",
		func(m metricsRun) string { return strconv.FormatInt(m.Files, 10) }},
	{"backup_bytes_transferred", "Bytes the last run wrote.",
		func(m metricsRun) string { return strconv.FormatInt(m.Bytes, 10) }},
	{"backup_files_deleted", "Files and links the last run deleted (into the trash).",
		func(m metricsRun) string { return strconv.FormatInt(m.Deleted, 10) }},
}

const resultFamily = "backup_result"

func unixText(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// sample is one line of a metrics file.
type sample struct {
	name   string
	labels [][2]string
	value  string
}

func (s sample) label(k string) string {
	for _, l := range s.labels {
		if l[0] == k {
			return l[1]
		}
	}
	return ""
}

func (s sample) String() string {
	var b strings.Builder
	b.WriteString(s.name)
	b.WriteByte('{')
	for i, l := range s.labels {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", l[0], escapeLabel(l[1]))
	}
	fmt.Fprintf(&b, "} %s", s.value)
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(v string) string { return labelEscaper.Replace(v) }

// writeMetrics writes the Prometheus textfile-collector file at path with
// m's series, keeping those of other targets and commands that the file
// already holds, so that several cron jobs may share one file. The file is
// replaced atomically (a temporary file beside it, synced, renamed), so a
// collector never reads half of it.
func writeMetrics(path string, m metricsRun) error {
	var kept []sample
	if old, err := os.ReadFile(path); err == nil {
		for _, s := range parseSamples(string(old)) {
			if s.label("target") != m.Target || s.label("command") != m.Command {
				kept = append(kept, s)
			} else if s.name == metricFamilies[0].name && m.LastSuccess.IsZero() {
				if v, err := strconv.ParseInt(s.value, 10, 64); err == nil && v > 0 {
					m.LastSuccess = time.Unix(v, 0)
				}
			}
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	labels := [][2]string{{"target", m.Target}, {"command", m.Command}}
	for _, f := range metricFamilies {
		kept = append(kept, sample{name: f.name, labels: labels, value: f.value(m)})
	}
	for _, r := range resultNames {
		v := "0"
		if r == m.Result {
			v = "1"
		}
		kept = append(kept, sample{name: resultFamily, labels: append(slices.Clone(labels), [2]string{"result", r}), value: v})
	}
	return writeFileAtomic(path, []byte(renderMetrics(kept)))
}

// renderMetrics groups samples by family, each with its HELP and TYPE,
// families in a fixed order and samples sorted by target and command.
func renderMetrics(samples []sample) string {
	var b strings.Builder
	families := append(slices.Clone(metricFamilies), metricFamily{name: resultFamily,
		help: "Result of the last run of the command on the target: 1 for the result it had (ok, warnings, usage, refused, failed), 0 for the others."})
	for _, f := range families {
		var fs []sample
		for _, s := range samples {
			if s.name == f.name {
				fs = append(fs, s)
			}
		}
		if len(fs) == 0 {
			continue
		}
		slices.SortStableFunc(fs, func(a, b sample) int {
			return strings.Compare(a.label("target")+"\x00"+a.label("command"), b.label("target")+"\x00"+b.label("command"))
		})
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for _, s := range fs {
			b.WriteString(s.String() + "\n")
		}
	}
	return b.String()
}

// parseSamples reads the samples of a metrics file written by
// writeMetrics; comments and lines it cannot read are dropped.
func parseSamples(text string) []sample {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := parseSample(line); ok {
			out = append(out, s)
		}
	}
	return out
}

func parseSample(line string) (sample, bool) {
	var s sample
	name, rest, ok := strings.Cut(line, "{")
	if !ok {
		return s, false
	}
	s.name = name
	for {
		if strings.HasPrefix(rest, "}") {
			rest = rest[1:]
			break
		}
		rest = strings.TrimPrefix(rest, ",")
		k, r, ok := strings.Cut(rest, `="`)
		if !ok {
			return s, false
		}
		var v strings.Builder
		i := 0
		for ; i < len(r) && r[i] != '"'; i++ {
			if r[i] == '\\' && i+1 < len(r) {
				i++
				if r[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(r[i])
		}
		if i == len(r) {
			return s, false
		}
		s.labels = append(s.labels, [2]string{k, v.String()})
		rest = r[i+1:]
	}
	s.value = strings.TrimSpace(rest)
	return s, s.value != ""
}

// writeFileAtomic replaces the local file path with data, mode 0644,
// through the transport's atomic write (temporary file beside it, synced,
// renamed over).
func writeFileAtomic(path string, data []byte) error {
	dir, err := transport.OpenLocal(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return transport.WriteFileAtomic(dir, filepath.Base(path), data, 0o644)
}
