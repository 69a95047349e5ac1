package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"
)

// TestSSHConnectionFailures: an unknown host key, a changed host key, a
// key the host does not accept, and a dead host each stop the run with
// exit 4 and a message that says which, and the mirror is left as it was.
func TestSSHConnectionFailures(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "") // only the keys of the config
	cases := []struct {
		name  string
		setup func(sw *sshWorld) (args []string)
		want  string
	}{
		{"unknown host key", func(sw *sshWorld) []string {
			return []string{"--known-hosts", sw.srv.WriteFile("empty_known_hosts", "")}
		}, "known_hosts"},
		{"changed host key", func(sw *sshWorld) []string {
			// mamane's address with uhane's key: a host that changed its key.
			line := knownhosts.Line([]string{knownhosts.Normalize(sw.srv.Host("mamane").Addr())}, sw.srv.Host("uhane").HostKey)
			kh := sw.srv.WriteFile("changed_known_hosts", line+"\n"+sw.srv.Host("uhane").KnownHostsLine())
			return []string{"--known-hosts", kh}
		}, "CHANGED"},
		{"login refused", func(sw *sshWorld) []string {
			data, err := os.ReadFile(sw.srv.Config)
			must(sw.t, err)
			wrong := sw.srv.NewKey("wrong_key")
			cfg := sw.srv.WriteFile("wrong_config", strings.ReplaceAll(string(data), sw.srv.IdentityFile, wrong))
			return []string{"--ssh-config", cfg}
		}, "refused"},
		{"dead host", func(sw *sshWorld) []string {
			sw.srv.Host("mamane").Stop()
			return nil
		}, "mamane"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sw := newSSHWorld(t, false, "detrend")
			makeTree(t, sw.src)
			sw.mustRun(0, "init", "elixir")
			sw.mustRun(0, "backup", "elixir")
			writeFile(t, filepath.Join(sw.src, "detrend/new.txt"), "not yet mirrored")
			extra := tc.setup(sw)
			before := snapshot(t, sw.dir) // both copies and the table
			// Flags given last override the world's --ssh-config/--known-hosts.
			r := sw.run(append(extra, "backup", "elixir")...)
			if r.code != exitFailed {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, exitFailed, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("stderr does not say %q:\n%s", tc.want, r.stderr)
			}
			assertUnchanged(t, sw.dir, before)
		})
	}
}

// TestSSHConnectionCutMidFile: a connection cut while a large file is
// written gives exit 4, no deletion, and no half-written file under a real
// name; the next run completes the mirror.
func TestSSHConnectionCutMidFile(t *testing.T) {
	sw := newSSHWorld(t, false, "detrend")
	makeTree(t, sw.src)
	sw.mustRun(0, "init", "elixir")
	sw.mustRun(0, "backup", "elixir")
	big := filepath.Join(sw.src, "detrend/huge.bin")
	data := make([]byte, 256<<20)
	_, _ = rand.Read(data)
	must(t, os.WriteFile(big, data, 0o644))
	must(t, os.Remove(filepath.Join(sw.src, "detrend/one.txt"))) // a deletion that must not happen

	var r result
	var wg sync.WaitGroup
	wg.Go(func() {
		var out, errb bytes.Buffer
		args := []string{"backup", "--table", sw.tab, "--ssh-config", sw.srv.Config, "--known-hosts", sw.srv.KnownHosts, "backup", "elixir"}
		r.code = run(context.Background(), args, &out, &errb)
		r.stdout, r.stderr = out.String(), errb.String()
	})
	cut := waitForTemp(t, filepath.Join(sw.dst, "detrend"), 20*time.Second)
	if cut {
		sw.srv.Host("mamane").CutConnections()
	}
	wg.Wait()
	if !cut {
		t.Fatalf("the transfer never started or finished before the cut (exit %d)\n%s", r.code, r.stderr)
	}
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, exitFailed, r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(sw.dst, "detrend/huge.bin")); err == nil && fi.Size() != int64(len(data)) {
		t.Fatalf("half-written file under its real name: %d of %d bytes", fi.Size(), len(data))
	}
	if _, err := os.Stat(filepath.Join(sw.dst, "detrend/one.txt")); err != nil {
		t.Fatalf("a deletion happened in a failed run: %v", err)
	}
	// The cut run could not remove its lock; the next run is a new process
	// and finds the holder gone.
	lockOfDeadProcess(t, filepath.Join(sw.dst, ".backup-lock"))
	r = sw.mustRun(1, "backup", "elixir")
	if !strings.Contains(r.stderr, "stale lock") {
		t.Fatalf("stale lock not reported:\n%s", r.stderr)
	}
	sw.assertSame()
	if m, _ := filepath.Glob(filepath.Join(sw.dst, "detrend/.backup-tmp-*")); len(m) != 0 {
		t.Fatalf("temporaries left after the next run: %v", m)
	}
}

// lockOfDeadProcess rewrites the pid of a lock left by this test process
// to that of a process that has ended, as a new cron run would find it.
func lockOfDeadProcess(t *testing.T, lock string) {
	t.Helper()
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatalf("no lock left by the cut run: %v", err)
	}
	cmd := exec.Command("true")
	must(t, cmd.Run())
	text := strings.Replace(string(data), fmt.Sprintf("pid = %d", os.Getpid()), fmt.Sprintf("pid = %d", cmd.Process.Pid), 1)
	must(t, os.WriteFile(lock, []byte(text), 0o644))
}

// waitForTemp waits until a temporary file of a transfer exists in dir.
func waitForTemp(t *testing.T, dir string, limit time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(dir, ".backup-tmp-*huge.bin")); len(m) > 0 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 1<<20 {
				return true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}
