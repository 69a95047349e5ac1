package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// statusOf runs status --json and decodes it.
func statusOf(t *testing.T, w *world, want int, args ...string) statusReport {
	t.Helper()
	r := w.mustRun(want, append([]string{"status", "--json"}, args...)...)
	var st statusReport
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return st
}

// fieldCheck is one field of a machine-readable output and its expected
// value.
type fieldCheck struct {
	name      string
	got, want any
}

func checkFields(t *testing.T, what string, checks []fieldCheck) {
	t.Helper()
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %s: got %v, want %v", what, c.name, c.got, c.want)
		}
	}
}

// lockStarted is when the lock statusWorld holds was taken.
var lockStarted = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// statusWorld is a target after a backup, with the lock held by "mamane".
func statusWorld(t *testing.T) (w *world, began time.Time) {
	w = newWorld(t, "detrend", "tests")
	makeTree(t, w.src)
	w.mustRun(0, "init", "elixir")
	began = time.Now().Add(-time.Second)
	w.mustRun(0, "backup", "elixir")
	var lock strings.Builder
	must(t, toml.NewEncoder(&lock).Encode(mirror.LockInfo{Host: "mamane", PID: 4242, Started: lockStarted, Command: "backup elixir"}))
	must(t, os.WriteFile(filepath.Join(w.dst, mirror.LockFile), []byte(lock.String()), 0o644))
	return w, began
}

// TestStatusJSON checks status --json field by field after a backup, with
// a lock held, and for a target whose mirror host is unreachable.
func TestStatusJSON(t *testing.T) {
	w, began := statusWorld(t)
	sm, dm := readMarker(t, w.src), readMarker(t, w.dst)
	st := statusOf(t, w, 0, "elixir")
	if len(st.Targets) != 1 {
		t.Fatalf("targets: %+v", st.Targets)
	}
	ts := st.Targets[0]
	if len(ts.Copies) != 2 || ts.LastComplete == nil || ts.LastRun == nil || ts.Lock == nil {
		t.Fatalf("incomplete status: %+v", ts)
	}
	src, dst, lc, lr := ts.Copies[0], ts.Copies[1], ts.LastComplete, ts.LastRun
	checkFields(t, "status --json", []fieldCheck{
		{"time is now", st.Time.After(began.Add(-time.Second)) && !st.Time.After(time.Now()), true},
		{"max_age_seconds", st.MaxAgeSeconds, 0.0},
		{"target", ts.Target, "elixir"},
		{"source", ts.Source, w.src},
		{"mirror", ts.Mirror, w.dst},
		{"dirs", strings.Join(ts.Dirs, ","), "detrend,tests"},
		{"copies[0].position", src.Position, "source"},
		{"copies[0].endpoint", src.Endpoint, w.src},
		{"copies[0].reachable", src.Reachable, true},
		{"copies[0].error", src.Error, ""},
		{"copies[0].empty", src.Empty, false},
		{"copies[0].marker.target", src.Marker.Target, "elixir"},
		{"copies[0].marker.role", src.Marker.Role, "source"},
		{"copies[0].marker.epoch", src.Marker.Epoch, int64(1)},
		{"copies[0].marker.pair", src.Marker.Pair, sm.Pair},
		{"copies[0].marker.copy", src.Marker.Copy, sm.Copy},
		{"copies[1].position", dst.Position, "mirror"},
		{"copies[1].endpoint", dst.Endpoint, w.dst},
		{"copies[1].marker.role", dst.Marker.Role, "mirror"},
		{"copies[1].marker.copy", dst.Marker.Copy, dm.Copy},
		{"copies[1].marker.pair", dst.Marker.Pair, sm.Pair},
		{"lock.host", ts.Lock.Host, "mamane"},
		{"lock.pid", ts.Lock.PID, 4242},
		{"lock.started", ts.Lock.Started, lockStarted},
		{"lock.command", ts.Lock.Command, "backup elixir"},
		{"last_complete.time", lc.Time, dm.Synced.Time.UTC()},
		{"last_complete.age_seconds small", lc.AgeSeconds >= 0 && lc.AgeSeconds < 60, true},
		{"last_complete.files", lc.Files, dm.Synced.Files},
		{"last_complete.files counts the tree", lc.Files > 10, true},
		{"last_complete.bytes", lc.Bytes, dm.Synced.Bytes},
		{"last_complete.source_copy", lc.SourceCopy, sm.Copy},
		{"last_complete.epoch", lc.Epoch, int64(1)},
		{"last_run.command", lr.Command, "backup elixir"},
		{"last_run.result", lr.Result, "ok"},
		{"last_run.error", lr.Error, ""},
		{"last_run.files", lr.Files, int64(16)},
		{"last_run.bytes > 3 MiB", lr.Bytes > 3<<20, true},
		{"last_run.deleted", lr.Deleted, int64(0)},
		{"last_run.start before end", !lr.Start.After(lr.End) && lr.Start.After(began.Add(-time.Second)), true},
		{"last_run.host", lr.Host, hostname(t)},
		{"too_old", ts.TooOld, false},
	})

	// A mirror that is gone: reported, not an error.
	must(t, os.Rename(w.dst, w.dst+".away"))
	st = statusOf(t, w, 0)
	ts = st.Targets[0]
	if ts.Copies[1].Reachable || ts.Copies[1].Error == "" || ts.LastComplete != nil || ts.LastRun != nil || ts.Lock != nil {
		t.Errorf("unreachable mirror: %+v", ts)
	}
}

// TestStatusJSONNames: the JSON names monitoring scripts rely on.
func TestStatusJSONNames(t *testing.T) {
	w, _ := statusWorld(t)
	r := w.mustRun(0, "status", "--json")
	for _, key := range []string{`"time"`, `"targets"`, `"target": "elixir"`, `"copies"`, `"position": "source"`, `"reachable": true`, `"marker"`,
		`"role": "mirror"`, `"epoch": 1`, `"lock"`, `"pid": 4242`, `"last_complete"`, `"age_seconds"`, `"source_copy"`,
		`"last_run"`, `"result": "ok"`, `"copy_seconds"`, `"too_old": false`} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("status --json lacks %s:\n%s", key, r.stdout)
		}
	}
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	must(t, err)
	return h
}

// TestStatusMaxAge: exit 1, with a warning per target, when the last
// complete run is older than --max-age or unknown; 0 otherwise.
func TestStatusMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, w *world)
		want   int
		words  []string
		tooOld bool
	}{
		{"fresh", func(t *testing.T, w *world) {}, 0, nil, false},
		{"old", func(t *testing.T, w *world) {
			editMarker(t, w.dst, func(m *mirror.Marker) { m.Synced.Time = time.Now().Add(-50 * time.Hour) })
		}, 1, []string{"backup: elixir: warning: last complete run 50h0m", "older than --max-age 26h0m0s"}, true},
		{"never", func(t *testing.T, w *world) {
			editMarker(t, w.dst, func(m *mirror.Marker) { m.Synced = nil })
		}, 1, []string{"backup: elixir: warning: no complete run known"}, true},
		{"mirror gone", func(t *testing.T, w *world) { must(t, os.Rename(w.dst, w.dst+".away")) },
			1, []string{"no complete run known"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "detrend")
			makeTree(t, w.src)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "backup", "elixir")
			tt.setup(t, w)
			r := w.mustRun(tt.want, "status", "--max-age", "26h")
			assertWords(t, r.stderr, tt.words)
			if tt.want == 0 && r.stderr != "" {
				t.Errorf("stderr: %q", r.stderr)
			}
			st := statusOf(t, w, tt.want, "--max-age", "26h")
			if st.Targets[0].TooOld != tt.tooOld || st.MaxAgeSeconds != 26*3600 {
				t.Errorf("too_old %v, max_age_seconds %v", st.Targets[0].TooOld, st.MaxAgeSeconds)
			}
		})
	}
}
