package mirror

import (
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestLastRunRoundTrip: the record is written atomically, read back equal,
// leaves the root's mtime as it was, and its absence is no error.
func TestLastRunRoundTrip(t *testing.T) {
	root := t.TempDir()
	fsys := openLocal(t, root)
	if lr, err := ReadLastRun(fsys); lr != nil || err != nil {
		t.Fatalf("no record: got %v, %v", lr, err)
	}
	old := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(root, old, old); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	rep := &Report{Start: start, End: start.Add(42 * time.Second), CopyTime: 3 * time.Second, Warnings: []string{"took over a lock"},
		Result: &Result{Files: 7, Bytes: 7000, Deleted: 2, Warnings: []string{"a: changed while it was copied"}}}
	want := NewLastRun("backup elixir", ResultWarnings, rep, errors.New("boom\nsecond line"), 20*time.Second)
	if err := WriteLastRun(fsys, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLastRun(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v\nwant %+v", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"files", got.Files, int64(7)}, {"bytes", got.Bytes, int64(7000)}, {"deleted", got.Deleted, int64(2)},
		{"result", got.Result, ResultWarnings}, {"error", got.Error, "boom\nsecond line"},
		{"warnings", len(got.Warnings), 2}, {"copy seconds", got.CopySeconds, 3.0}, {"window", got.WindowSeconds, 20.0},
		{"duration", got.Duration(), 42 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if fi, err := os.Stat(root); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("root mtime changed: %v %v", fi.ModTime(), err)
	}
	if s := got.String(); s == "" || len(s) > 200 {
		t.Errorf("String: %q", s)
	}
}

// TestLastRunString: one line, the error's first line after the counts
// (" ..." where more lines followed), nothing after them without error.
func TestLastRunString(t *testing.T) {
	end := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lr := &LastRun{Command: "backup elixir", Result: ResultOK, Start: end.Add(-time.Minute), End: end, Files: 2, Bytes: 2048, Deleted: 1}
	base := "backup elixir: ok at 2026-01-02T03:04:05Z, took 1m0s, 2 files (2.0 KiB) transferred, 1 deleted"
	for _, tc := range []struct{ err, want string }{
		{"", base},
		{"boom", base + ": boom"},
		{"boom\nsecond line", base + ": boom ..."},
		{"\nafter a blank line", base + ":  ..."},
	} {
		lr.Error = tc.err
		if got := lr.String(); got != tc.want {
			t.Errorf("error %q: %q, want %q", tc.err, got, tc.want)
		}
	}
}
