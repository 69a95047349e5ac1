//go:build !linux

// Package serve is the helper the tool runs on a remote host ("backup
// serve ROOT"); it needs Linux (openat2 or O_PATH), so elsewhere it only
// says so and the tool falls back to SFTP.
package serve

import (
	"errors"
	"io"
	"runtime"
)

// Serve fails: the helper needs Linux.
func Serve(dir string, in io.Reader, out io.Writer) error {
	return errors.New("backup serve: not supported on " + runtime.GOOS)
}
