package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/mirrorfence/mirrorfence/transport"
)

// TestShellHooks runs hook commands on a local endpoint: in its root, in
// order, with their output logged line by line, failures and timeouts
// reported with the tail of the output, and a hung hook killed whole.
func TestShellHooks(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		timeout       time.Duration
		wantBefore    []string // words of Before's error; nil: no error
		wantLogged    []string // stdout/stderr lines logged, in order
		maxTime       time.Duration
	}{
		{name: "both run in the root, in order",
			before: "echo before >> hooks.log; echo frozen; touch flag", after: "echo after >> hooks.log; rm flag; echo thawed >&2",
			wantLogged: []string{"before:stdout:frozen", "after:stderr:thawed"}},
		{name: "failure names the hook and quotes the output",
			before: "echo one; echo two >&2; exit 3", after: "true",
			wantBefore: []string{"before hook on ", "failed", "failed: exited with status 3", "its last output:", "    one", "    two"},
			wantLogged: []string{"before:stdout:one", "before:stderr:two"}},
		{name: "only the last lines are quoted",
			before:     "for i in 1 2 3 4 5 6 7; do echo line$i; done; false",
			wantBefore: []string{"its last output:\n    line3\n    line4\n    line5\n    line6\n    line7"},
			wantLogged: []string{"before:stdout:line1", "before:stdout:line2", "before:stdout:line3", "before:stdout:line4",
				"before:stdout:line5", "before:stdout:line6", "before:stdout:line7"}},
		{name: "a hung hook is killed at its timeout",
			before: "(sleep 1; touch late); sleep 30", timeout: 300 * time.Millisecond,
			wantBefore: []string{"before hook on ", "timed out after 300ms and was killed"},
			maxTime:    15 * time.Second}, // the timeout with room for a loaded machine; unkilled, it would sleep 30s
		{name: "a line without newline is logged",
			before: "printf 'no newline'", wantLogged: []string{"before:stdout:no newline"}},
		{name: "an empty command runs nothing", before: "", after: "echo x", wantLogged: []string{"after:stdout:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			var logBuf bytes.Buffer
			h := &ShellHooks{Runner: openLocal(t, root), Where: root, BeforeCommand: tt.before, AfterCommand: tt.after,
				Timeout: tt.timeout, Log: slog.New(slog.NewJSONHandler(&logBuf, nil))}
			began := time.Now()
			err := h.Before(context.Background())
			took := time.Since(began)
			if tt.wantBefore == nil && err != nil {
				t.Fatalf("Before: %v", err)
			}
			if tt.wantBefore != nil {
				if err == nil {
					t.Fatal("Before succeeded, want an error")
				}
				for _, w := range tt.wantBefore {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Before's error lacks %q:\n%v", w, err)
					}
				}
			}
			if tt.maxTime > 0 {
				if took > tt.maxTime {
					t.Errorf("Before took %s", took)
				}
				time.Sleep(1500 * time.Millisecond) // the killed command would have touched "late" by now
				if _, err := os.Stat(filepath.Join(root, "late")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the hung hook was not killed whole: %v", err)
				}
			}
			if tt.wantBefore == nil {
				if err := h.After(context.Background()); err != nil {
					t.Fatalf("After: %v", err)
				}
			}
			// stdout and stderr are separate pipes: their lines may
			// interleave either way.
			got, want := loggedLines(t, &logBuf), slices.Clone(tt.wantLogged)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("logged %q, want %q", got, tt.wantLogged)
			}
			if strings.Contains(tt.before, "hooks.log") {
				b, err := os.ReadFile(filepath.Join(root, "hooks.log"))
				if err != nil || string(b) != "before\nafter\n" {
					t.Errorf("hooks.log in the root: %q, %v", b, err)
				}
				if _, err := os.Stat(filepath.Join(root, "flag")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after did not remove what before made: %v", err)
				}
			}
		})
	}
}

// loggedLines returns "hook:stream:line" for each output line logged.
func loggedLines(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log record %q: %v", line, err)
		}
		if stream, ok := rec["stream"].(string); ok {
			out = append(out, rec["hook"].(string)+":"+stream+":"+rec["msg"].(string))
		}
	}
	return out
}

func TestNewShellHooks(t *testing.T) {
	fsys := openLocal(t, t.TempDir())
	if h, err := NewShellHooks(fsys, "", "", 0, nil); h != nil || err != nil {
		t.Errorf("no commands: got %v, %v; want no hooks", h, err)
	}
	h, err := NewShellHooks(fsys, "true", "", time.Minute, nil)
	if err != nil || h == nil || h.Where != fsys.String() || h.Timeout != time.Minute || h.BeforeCommand != "true" {
		t.Errorf("got %+v, %v", h, err)
	}
	if _, err := NewShellHooks(noRunner{fsys}, "true", "", 0, nil); err == nil {
		t.Error("an FS that cannot run commands: no error")
	}
}

// noRunner hides the Run method of an FS.
type noRunner struct{ transport.FS }
