package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// Log formats (--log-format).
const (
	logText = "text" // "backup: elixir: warning: message key=value", for people and cron mail
	logJSON = "json" // one JSON object per record (log/slog's JSONHandler), for log shippers
)

// newLogger returns the logger of a command: records at Warn and above,
// Info too when verbose, written to w in format. Every warning, problem
// and hook output line of a run is a record; what a command is asked to
// print (plans, status, check results) goes to stdout instead.
func newLogger(w io.Writer, format string, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	if format == logJSON {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: escapeAttr}))
	}
	return slog.New(&textHandler{w: w, mu: new(sync.Mutex), level: level})
}

// textHandler writes one line per record: "backup: ", the target (an
// attribute "target") and ": ", "warning: " or "error: " by level, the
// message, then the other attributes as key=value, quoted where needed.
type textHandler struct {
	w      io.Writer
	mu     *sync.Mutex
	level  slog.Level
	target string
	attrs  []slog.Attr
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("backup: ")
	target := h.target
	var attrs []slog.Attr
	attrs = append(attrs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "target" {
			target = a.Value.String()
		} else {
			attrs = append(attrs, a)
		}
		return true
	})
	if target != "" {
		b.WriteString(target + ": ")
	}
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(mirror.DisplayLines(r.Message))
	for _, a := range attrs {
		fmt.Fprintf(&b, " %s=%s", a.Key, quoteValue(mirror.DisplayLines(a.Value.Resolve().String())))
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// escapeAttr escapes the message and string attributes of a JSON record
// as the text log does (mirror.DisplayLines): encoding/json would replace
// each byte of a name that is not UTF-8 with U+FFFD, for good.
func escapeAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindString {
		a.Value = slog.StringValue(mirror.DisplayLines(a.Value.String()))
	}
	return a
}

func quoteValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}

func (h *textHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]slog.Attr{}, h.attrs...)
	for _, a := range attrs {
		if a.Key == "target" {
			h2.target = a.Value.String()
			continue
		}
		h2.attrs = append(h2.attrs, a)
	}
	return &h2
}

// WithGroup is not used by the tool: groups are flattened.
func (h *textHandler) WithGroup(string) slog.Handler { return h }

// logFinal reports the error that ends the command, with its exit code,
// in the format the command line asked for. In text, a bare "completed
// with warnings" is left out: each warning has had its line already, and
// cron mail should hold one line per problem.
func logFinal(w io.Writer, format string, err error, code int) {
	if format == logJSON {
		logJSONFinal(w, err, code)
		return
	}
	var kept []string
	for _, line := range strings.Split(mirror.DisplayLines(err.Error()), "\n") {
		if line != errWarnings.Error() && !strings.HasSuffix(line, ": "+errWarnings.Error()) {
			kept = append(kept, line)
		}
	}
	if len(kept) > 0 {
		fmt.Fprintf(w, "backup: %s\n", strings.Join(kept, "\n"))
	}
}

// logJSONFinal writes one record per target that went wrong — its
// target, exit code and, for a refusal, what was found as the message
// with its rule and remedy as fields — and, when there were several, a
// last record with the command's exit code.
func logJSONFinal(w io.Writer, err error, code int) {
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: escapeAttr}))
	all := []error{err}
	var j *joined
	if errors.As(err, &j) {
		all = j.all
	}
	for _, e := range all {
		log.Error(errorMessage(e), errorAttrs(e, exitCode(e))...)
	}
	if len(all) > 1 {
		log.Error(fmt.Sprintf("%d targets did not complete", len(all)), "exit", code)
	}
}

// errorMessage is an error's text without the target name a field
// carries and, for a refusal, without the remedy a field carries.
func errorMessage(err error) string {
	var r *mirror.Refusal
	if errors.As(err, &r) {
		return "refused: " + r.Found
	}
	var te *targetError
	if errors.As(err, &te) {
		return te.err.Error()
	}
	return err.Error()
}

// errorAttrs are the fields of an error's record: target, rule and
// remedy where known, and the exit code.
func errorAttrs(err error, code int) []any {
	var attrs []any
	var te *targetError
	if errors.As(err, &te) {
		attrs = append(attrs, "target", te.target)
	}
	var r *mirror.Refusal
	if errors.As(err, &r) {
		attrs = append(attrs, "rule", r.Rule, "remedy", r.Remedy)
	}
	return append(attrs, "exit", code)
}
