// Package testenv holds the checks tests make of the machine they run on,
// so that a missing tool skips a test on a developer's machine but fails it
// in CI, where a silent skip would let a promise go unguarded.
//
// CI is "the environment variable CI is true" (.ci/run sets it). The
// unprivileged pass (.ci/run, make test-unpriv) runs the tests named
// TestPerm... a second time as a user without root privileges, with
// UnprivEnv set to 1.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// UnprivEnv is the environment variable the unprivileged pass sets.
const UnprivEnv = "BACKUP_TEST_UNPRIV"

// CI reports whether the tests run in CI, where nothing may be skipped for
// want of a tool.
func CI() bool { return os.Getenv("CI") == "true" }

// Require skips the test when err is not nil, or fails it in CI: the test
// needs what reason names (say "sshd (install openssh-server)").
func Require(t testing.TB, reason string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if CI() {
		t.Fatalf("needs %s: %v (CI=true: a missing tool fails, never skips)", reason, err)
	}
	t.Skipf("needs %s: %v", reason, err)
}

// LookPath returns the path of the program name, skipping the test when
// there is none (failing it in CI).
func LookPath(t testing.TB, name, reason string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, reason, err)
	return p
}

// NeedRoot skips a test that needs root (to give a file another owner)
// when it runs as another user, and fails it in CI, which runs as root
// except in the unprivileged pass (which runs only TestPerm... tests).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if CI() && os.Getenv(UnprivEnv) == "" {
		t.Fatal("needs root (CI=true: runs as root outside the unprivileged pass)")
	}
	t.Skip("needs root")
}

// Unprivileged is called first by every permission-dependent test: one
// that makes a file or directory unreadable and expects the tool to be
// denied access, which root never is. Such a test must be named TestPerm...
// so that the unprivileged pass selects it. As root it skips: in CI the
// unprivileged pass runs it (and fails when it ran no test at all); in
// that pass, running as root is a failure.
func Unprivileged(t testing.TB) {
	t.Helper()
	if !strings.HasPrefix(t.Name(), "TestPerm") {
		t.Fatalf("%s depends on permissions: name it TestPerm... so that the unprivileged pass runs it", t.Name())
	}
	if os.Geteuid() != 0 {
		return
	}
	if os.Getenv(UnprivEnv) != "" {
		t.Fatal("the unprivileged pass runs as root")
	}
	t.Skip("root reads everything: runs in the unprivileged pass (make test-unpriv)")
}
