package main

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
)

// runTB is the testing.TB that sshtest gets outside of a test. sshtest
// calls only the methods defined here (Helper, Logf, Fatalf, Skipf,
// Failed, TempDir, Cleanup); the embedded nil TB satisfies the rest of the
// interface, and calling any other method panics, which would show at once
// that sshtest started to use one more.
type runTB struct {
	testing.TB

	base string // directory for TempDir

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	n        int
}

func newRunTB(base string) *runTB { return &runTB{base: base} }

func (t *runTB) Helper() {}

func (t *runTB) Logf(format string, args ...any) { log.Printf("sshtest: "+format, args...) }

// Fatalf reports, runs the cleanups (stopping every sshd) and exits: the
// bench cannot run without its server.
func (t *runTB) Fatalf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	log.Printf("cannot run: "+format, args...)
	t.Close()
	os.Exit(2)
}

// Skipf is fatal too: sshtest skips when there is no sshd.
func (t *runTB) Skipf(format string, args ...any) { t.Fatalf(format, args...) }

func (t *runTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *runTB) TempDir() string {
	t.mu.Lock()
	t.n++
	dir := fmt.Sprintf("%s/sshtest-%d-%d", t.base, os.Getpid(), t.n)
	t.mu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (t *runTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// Close runs the cleanups, last registered first, once.
func (t *runTB) Close() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
