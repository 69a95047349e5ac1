package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mirrorfence/mirrorfence/transport"
)

// LastRunFile records, at the root of a target's mirror copy, how the last
// run that got past the fences ended, complete or not. Refused and dry runs
// write nothing, so they leave it as it was.
const LastRunFile = ".backup-lastrun"

// Results of a run, as LastRun.Result records them.
const (
	ResultOK       = "ok"       // complete, nothing to report
	ResultWarnings = "warnings" // complete, with warnings (a file changed while copied, the freeze window exceeded, ...)
	ResultFailed   = "failed"   // not complete: a hook, a read, a transfer or the connection failed
)

// LastRun is the record in LastRunFile.
type LastRun struct {
	Command  string    `toml:"command" json:"command"` // e.g. "backup elixir"
	Host     string    `toml:"host" json:"host"`       // where the tool ran
	Start    time.Time `toml:"start" json:"start"`
	End      time.Time `toml:"end" json:"end"`
	Result   string    `toml:"result" json:"result"` // ResultOK, ResultWarnings or ResultFailed
	Error    string    `toml:"error,omitempty" json:"error,omitempty"`
	Warnings []string  `toml:"warnings,omitempty" json:"warnings,omitempty"`
	Files    int64     `toml:"files" json:"files"`     // files transferred
	Bytes    int64     `toml:"bytes" json:"bytes"`     // bytes transferred
	Deleted  int64     `toml:"deleted" json:"deleted"` // files and links deleted (into the trash)
	// CopySeconds is the copy phase timed from the end of the before hook;
	// WindowSeconds the freeze window it had to fit in (0: none).
	CopySeconds   float64 `toml:"copy_seconds" json:"copy_seconds"`
	WindowSeconds float64 `toml:"window_seconds,omitempty" json:"window_seconds,omitempty"`
}

// NewLastRun describes a run from its report, its result and its error.
func NewLastRun(command, result string, rep *Report, runErr error, window time.Duration) *LastRun {
	host, _ := os.Hostname()
	lr := &LastRun{Command: command, Host: host, Result: result, End: time.Now().UTC().Truncate(time.Millisecond),
		WindowSeconds: window.Seconds()}
	if runErr != nil {
		lr.Error = runErr.Error()
	}
	if rep == nil {
		lr.Start = lr.End
		return lr
	}
	lr.Start = rep.Start.UTC().Truncate(time.Millisecond)
	if !rep.End.IsZero() {
		lr.End = rep.End.UTC().Truncate(time.Millisecond)
	}
	lr.Warnings = append(lr.Warnings, rep.Warnings...)
	lr.CopySeconds = rep.CopyTime.Seconds()
	if r := rep.Result; r != nil {
		lr.Warnings = append(lr.Warnings, r.Warnings...)
		lr.Files, lr.Bytes, lr.Deleted = int64(r.Files), r.Bytes, int64(r.Deleted)
	}
	return lr
}

// Duration is how long the run took.
func (lr *LastRun) Duration() time.Duration { return lr.End.Sub(lr.Start) }

func (lr *LastRun) String() string {
	s := fmt.Sprintf("%s: %s at %s, took %s, %d files (%s) transferred, %d deleted", lr.Command, lr.Result,
		lr.End.UTC().Format(time.RFC3339), lr.Duration().Round(time.Second), lr.Files, HumanBytes(lr.Bytes), lr.Deleted)
	if lr.Error != "" {
		s += ": " + firstLine(lr.Error)
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// ReadLastRun returns the record on fsys, nil when there is none.
func ReadLastRun(fsys transport.FS) (*LastRun, error) {
	data, err := transport.ReadFile(fsys, LastRunFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lr LastRun
	if _, err := toml.Decode(string(data), &lr); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", fsys, LastRunFile, err)
	}
	return &lr, nil
}

// WriteLastRun replaces the record on fsys atomically. The root keeps its
// mtime, so that the record is invisible to the comparison of the copies.
func WriteLastRun(fsys transport.FS, lr *LastRun) error {
	var buf bytes.Buffer
	buf.WriteString("# The last run of this target that got past the fences; written by backup.\n")
	if err := toml.NewEncoder(&buf).Encode(lr); err != nil {
		return err
	}
	root, statErr := fsys.Lstat(".")
	if err := transport.WriteFileAtomic(fsys, LastRunFile, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if statErr != nil {
		return nil
	}
	return fsys.Chtimes(".", root.ModTime)
}
