package mirror

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// recHooks records the hooks a run calls, in order.
type recHooks struct {
	calls  []string
	before func() error
}

func (h *recHooks) Before(context.Context) error {
	h.calls = append(h.calls, "before")
	if h.before != nil {
		return h.before()
	}
	return nil
}

func (h *recHooks) After(context.Context) error {
	h.calls = append(h.calls, "after")
	return nil
}

// failCreate fails every file creation inside the DIR "d".
type failCreate struct{ transport.FS }

func (f failCreate) Create(name string, perm fs.FileMode) (transport.WriteFile, error) {
	if strings.HasPrefix(name, "d/") {
		return nil, &fs.PathError{Op: "create", Path: name, Err: errors.New("disk full")}
	}
	return f.FS.Create(name, perm)
}

// listRoot returns the names at a root with their sizes and mtimes.
func listRoot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel+" "+fi.ModTime().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBackupHooks: Backup freezes before planning, thaws after the copy
// and on every way out once frozen, stops cleanly when Before fails, and
// times the copy against the window.
func TestBackupHooks(t *testing.T) {
	past := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		before    func(src string) error
		failCopy  bool
		extraDst  bool // a file only the mirror has, to be deleted
		opt       RunOptions
		wantCalls []string
		wantErr   string // "" = none; else words of the error
		wantWarn  string
		check     func(t *testing.T, src, dst string, rep *Report)
	}{
		{name: "before runs before the plan", wantCalls: []string{"before", "after"},
			before: func(src string) error { return os.WriteFile(filepath.Join(src, "d/mark.txt"), []byte("mark"), 0o644) },
			check: func(t *testing.T, src, dst string, rep *Report) {
				if b, err := os.ReadFile(filepath.Join(dst, "d/mark.txt")); err != nil || string(b) != "mark" {
					t.Errorf("the file the before hook wrote was not copied: %q %v", b, err)
				}
			}},
		{name: "failing before stops the run", wantCalls: []string{"before"}, wantErr: "freeze failed",
			before: func(string) error { return errors.New("freeze failed") },
			check: func(t *testing.T, src, dst string, rep *Report) {
				if rep.Plan != nil || rep.Result != nil {
					t.Errorf("planned or applied after a failed before hook: %+v", rep)
				}
			}},
		{name: "a refused plan thaws", extraDst: true, opt: RunOptions{MaxDelete: MaxDelete{Count: -1}},
			wantCalls: []string{"before", "after"}, wantErr: "max-delete"},
		{name: "a failed copy thaws", failCopy: true, wantCalls: []string{"before", "after"}, wantErr: "disk full"},
		{name: "window exceeded is a warning", opt: RunOptions{Window: time.Nanosecond}, wantCalls: []string{"before", "after"},
			wantWarn: "copy outlasted the freeze window (took ", check: func(t *testing.T, src, dst string, rep *Report) {
				if rep.CopyTime <= 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), ", window 1ns)") {
					t.Errorf("copy time %s, warnings %q", rep.CopyTime, rep.Warnings)
				}
				if _, err := os.Stat(filepath.Join(dst, "d/a.txt")); err != nil {
					t.Errorf("the run did not complete: %v", err)
				}
			}},
		{name: "window kept is no warning", opt: RunOptions{Window: time.Hour}, wantCalls: []string{"before", "after"}},
		{name: "dry run runs no hooks", opt: RunOptions{DryRun: true}, wantCalls: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			write(t, src, "d/a.txt", "alpha", past)
			write(t, src, "d/b.txt", "beta", past)
			if _, _, err := Init(openLocal(t, src), openLocal(t, dst), "elixir", false, false); err != nil {
				t.Fatal(err)
			}
			if tt.extraDst {
				write(t, dst, "d/extra.txt", "only here", past)
			}
			before := listRoot(t, dst)
			h := &recHooks{}
			if tt.before != nil {
				h.before = func() error { return tt.before(src) }
			}
			opt := tt.opt
			opt.Target, opt.Dirs, opt.Hooks, opt.Command = "elixir", []string{"d"}, h, "backup elixir"
			var dstFS transport.FS = openLocal(t, dst)
			if tt.failCopy {
				dstFS = failCreate{dstFS}
			}
			rep, err := Backup(context.Background(), openLocal(t, src), dstFS, opt)
			if !slices.Equal(h.calls, tt.wantCalls) {
				t.Errorf("hooks called: %q, want %q", h.calls, tt.wantCalls)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Backup: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Backup: got %v, want an error with %q", err, tt.wantErr)
			}
			if warnings := strings.Join(rep.Warnings, "\n"); (tt.wantWarn == "") != (warnings == "") || !strings.Contains(warnings, tt.wantWarn) {
				t.Errorf("warnings %q, want %q", warnings, tt.wantWarn)
			}
			if tt.wantErr != "" && !tt.failCopy || opt.DryRun {
				if after := listRoot(t, dst); !slices.Equal(after, before) {
					t.Errorf("the mirror changed:\nbefore %q\nafter  %q", before, after)
				}
			}
			if tt.check != nil {
				tt.check(t, src, dst, rep)
			}
		})
	}
}
