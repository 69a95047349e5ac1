package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readMetrics returns the samples of a metrics file by "name{labels}",
// after checking that each family has one HELP and one TYPE gauge line
// before its samples.
func readMetrics(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	out := map[string]string{}
	declared := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			declared[strings.Fields(line)[2]]++
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || f[3] != "gauge" {
				t.Errorf("bad TYPE line %q", line)
			}
			declared[f[2]]++
		default:
			key, value, ok := strings.Cut(line, " ")
			name, _, _ := strings.Cut(key, "{")
			if !ok || declared[name] != 2 {
				t.Errorf("sample %q without its HELP and TYPE (or twice)", line)
			}
			if _, err := strconv.ParseFloat(value, 64); err != nil {
				t.Errorf("sample %q: value: %v", line, err)
			}
			out[key] = value
		}
	}
	return out
}

// TestMetricsFile checks the textfile-collector file field by field after
// a complete run, a refused one, and a run of a second target sharing the
// file.
func TestMetricsFile(t *testing.T) {
	w := newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	other, _ := addTarget(t, w, "other")
	writeFile(t, filepath.Join(other, "data/f.txt"), "other")
	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "init", "other")
	dir := filepath.Join(w.dir, "textfile")
	must(t, os.Mkdir(dir, 0o755))
	prom := filepath.Join(dir, "backup.prom")

	began := time.Now().Unix()
	w.mustRun(0, "backup", "elixir", "--metrics-file", prom)
	end := time.Now().Unix()
	m := readMetrics(t, prom)
	l := `{target="elixir",command="backup"}`
	success, _ := strconv.ParseInt(m["backup_last_success_timestamp_seconds"+l], 10, 64)
	lastRun, _ := strconv.ParseInt(m["backup_last_run_timestamp_seconds"+l], 10, 64)
	duration, _ := strconv.ParseFloat(m["backup_duration_seconds"+l], 64)
	checkFields(t, "after a complete run", []fieldCheck{
		{"last success is this run", success >= began && success <= end, true},
		{"last run is this run", lastRun, success},
		{"duration", duration >= 0 && duration < 60, true},
		{"files transferred", m["backup_files_transferred"+l], "16"},
		{"bytes transferred > 3 MiB", atoi(m["backup_bytes_transferred"+l]) > 3<<20, true},
		{"files deleted", m["backup_files_deleted"+l], "0"},
		{"result ok", m[`backup_result{target="elixir",command="backup",result="ok"}`], "1"},
		{"result warnings", m[`backup_result{target="elixir",command="backup",result="warnings"}`], "0"},
		{"result usage", m[`backup_result{target="elixir",command="backup",result="usage"}`], "0"},
		{"result refused", m[`backup_result{target="elixir",command="backup",result="refused"}`], "0"},
		{"result failed", m[`backup_result{target="elixir",command="backup",result="failed"}`], "0"},
		{"series", len(m), 11},
	})
	if fi, err := os.Stat(prom); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("metrics file mode: %v %v", fi.Mode(), err)
	}

	// A refused run: the result says so, the last success stays.
	must(t, os.Remove(filepath.Join(w.src, "detrend/one.txt")))
	time.Sleep(1100 * time.Millisecond)
	w.mustRun(3, "backup", "elixir", "--max-delete", "0", "--metrics-file", prom)
	// Another target shares the file; its series are added, elixir's kept.
	w.mustRun(0, "backup", "other", "--metrics-file", prom)
	m = readMetrics(t, prom)
	lo := `{target="other",command="backup"}`
	checkFields(t, "after a refused run and another target", []fieldCheck{
		{"refused", m[`backup_result{target="elixir",command="backup",result="refused"}`], "1"},
		{"not ok", m[`backup_result{target="elixir",command="backup",result="ok"}`], "0"},
		{"last success kept", m["backup_last_success_timestamp_seconds"+l], strconv.FormatInt(success, 10)},
		{"last run moved", atoi(m["backup_last_run_timestamp_seconds"+l]) > success, true},
		{"nothing transferred", m["backup_files_transferred"+l], "0"},
		{"other: ok", m[`backup_result{target="other",command="backup",result="ok"}`], "1"},
		{"other: files", m["backup_files_transferred"+lo], "1"},
		{"other: bytes", m["backup_bytes_transferred"+lo], "5"},
		{"both targets' series", len(m), 22},
	})
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 1 {
		t.Errorf("temporary files left beside the metrics file: %v", left)
	}
	// A dry run writes no metrics.
	before, _ := os.ReadFile(prom)
	w.mustRun(0, "backup", "other", "--dry-run", "--metrics-file", prom)
	if after, _ := os.ReadFile(prom); string(after) != string(before) {
		t.Error("a dry run changed the metrics file")
	}
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestParseSamples: label values with quotes, backslashes and newlines
// survive a round trip through the file.
func TestParseSamples(t *testing.T) {
	tests := []sample{
		{name: "backup_result", labels: [][2]string{{"target", `we"ird\name`}, {"command", "line\nbreak"}}, value: "1"},
		{name: "backup_duration_seconds", labels: [][2]string{{"target", "elixir"}}, value: "0.125"},
	}
	for _, s := range tests {
		got := parseSamples("# HELP x\n" + s.String() + "\n")
		if len(got) != 1 || got[0].String() != s.String() || got[0].label("target") != s.labels[0][1] {
			t.Errorf("round trip of %q: got %+v", s.String(), got)
		}
	}
	if got := parseSamples("garbage\nname{a=\"unterminated} 1\n"); len(got) != 0 {
		t.Errorf("unreadable lines kept: %+v", got)
	}
}
