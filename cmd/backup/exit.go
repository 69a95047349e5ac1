package main

import (
	"errors"

	"github.com/mirrorfence/mirrorfence/mirror"
	"github.com/mirrorfence/mirrorfence/table"
)

// Exit codes (DESIGN §4). This file is the one place that maps errors to
// them.
const (
	exitOK       = 0 // done, or in sync
	exitWarnings = 1 // done with differences or warnings
	exitUsage    = 2 // bad usage, table or settings
	exitRefused  = 3 // refused by a fence: roles, markers, max-delete, lock held
	exitFailed   = 4 // failed: transport or I/O error
)

var (
	// errDifferences: check found differences (exit 1).
	errDifferences = errors.New("differences found")
	// errWarnings: the run completed with warnings (exit 1).
	errWarnings = errors.New("completed with warnings")
)

// usageError is a mistake in the command line or the settings (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(msg string) error { return &usageError{msg: msg} }

// exitCode maps an error to the process exit code. A refusal wins over
// everything: it means nothing was written.
func exitCode(err error) int {
	var ue *usageError
	var pe *table.ParseError
	var se *table.SettingsError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, mirror.ErrRefused):
		return exitRefused
	case errors.As(err, &ue), errors.As(err, &pe), errors.As(err, &se), errors.Is(err, table.ErrUnknownTarget), errors.Is(err, table.ErrNoTable):
		return exitUsage
	case errors.Is(err, errDifferences), errors.Is(err, errWarnings):
		return exitWarnings
	default:
		return exitFailed
	}
}
