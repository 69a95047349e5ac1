package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestMain lets the test binary stand in for the backup command on the
// SSH test hosts: run through a symlink named backup (see backupOnPath),
// it is the CLI, so the remote helpers (hash, blocks) are this code.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "backup" {
		os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// backupOnPath returns a directory holding "backup", a symlink to the test
// binary, for the PATH of the test hosts' sessions.
func backupOnPath(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	must(t, err)
	bin := t.TempDir()
	must(t, os.Symlink(exe, filepath.Join(bin, "backup")))
	return bin
}
