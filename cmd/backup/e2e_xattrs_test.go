package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// TestXattrsAndACLs: extended attributes in the user namespace and POSIX
// ACLs (access and default) of files and directories arrive on the mirror,
// a change of one on the source is followed, one removed is removed, and
// rsync -aAX is the oracle; a restore brings them back. Over SFTP the plan
// says that they are not kept.
func TestXattrsAndACLs(t *testing.T) {
	setfacl := testenv.LookPath(t, "setfacl", "setfacl for the ACL cases (apt-get install acl)")
	w := newWorld(t, "detrend", "tests")
	src := func(p string) string { return filepath.Join(w.src, p) }
	for _, d := range []string{"detrend/shared", "tests"} {
		must(t, os.MkdirAll(src(d), 0o755))
	}
	writeFile(t, src("detrend/shared/db"), "records\n")
	writeFile(t, src("tests/plain"), "plain\n")
	setXattr(t, src("detrend/shared/db"), "user.origin", "uhane")
	setXattr(t, src("detrend/shared"), "user.project", "elixir")
	runTool(t, setfacl, "-m", "u:daemon:rw", src("detrend/shared/db"))
	runTool(t, setfacl, "-d", "-m", "g:daemon:rx", src("detrend/shared"))

	w.mustRun(0, "init", "elixir")
	w.mustRun(0, "backup", "elixir")
	assertXattrsLike(t, w)

	setXattr(t, src("detrend/shared/db"), "user.origin", "changed")
	must(t, unix.Removexattr(src("detrend/shared"), "user.project"))
	setXattr(t, src("tests/plain"), "user.new", "1")
	r := w.mustRun(0, "backup", "elixir", "-n")
	if !strings.Contains(r.stdout, ".f........x detrend/shared/db") {
		t.Errorf("the dry run does not itemize the attribute change rsync-style:\n%s", r.stdout)
	}
	w.mustRun(0, "backup", "elixir")
	assertXattrsLike(t, w)
	w.mustRun(0, "check", "elixir")

	// Changed on the mirror (an attribute, an ACL): check sees it, and
	// the next run refuses it as a change made outside the tool, as it
	// would a file's content, until told to overwrite it.
	setXattr(t, filepath.Join(w.dst, "tests/plain"), "user.new", "mirror")
	runTool(t, setfacl, "-m", "u:daemon:r", filepath.Join(w.dst, "detrend/shared"))
	if r := w.run("check", "elixir"); r.code != 1 || !strings.Contains(r.stdout, "tests/plain") {
		t.Errorf("check did not report the attribute changed on the mirror: exit %d\n%s", r.code, r.stdout)
	}
	before := snapshot(t, w.dst)
	r = w.mustRun(3, "backup", "elixir")
	for _, p := range []string{"attributes changed: tests/plain", "attributes changed: detrend/shared"} {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("the refusal does not name %q:\n%s", p, r.stderr)
		}
	}
	assertUnchanged(t, w.dst, before)
	w.mustRun(0, "backup", "elixir", "--overwrite-mirror-changes")
	assertXattrsLike(t, w)
	w.mustRun(0, "backup", "elixir") // the manifest holds what that run set
}

// assertXattrsLike asks rsync -aAX (content compared) whether the copies
// are the same, attributes and ACLs included.
func assertXattrsLike(t *testing.T, w *world) {
	t.Helper()
	rsync := needRsync(t)
	for _, s := range w.scopes() {
		args := []string{"-aAX", "-c", "-n", "-i", "--delete"}
		if s.root {
			args = append(args, "--exclude=/.backup-*")
		}
		out, err := exec.Command(rsync, append(args, s.src+"/", s.dst+"/")...).CombinedOutput()
		if err != nil {
			t.Fatalf("rsync: %v\n%s", err, out)
		}
		if diff := strings.TrimSpace(string(out)); diff != "" {
			t.Fatalf("rsync -aAX sees differences between %s and %s:\n%s", s.src, s.dst, diff)
		}
	}
}

func setXattr(t *testing.T, p, name, value string) {
	t.Helper()
	must(t, unix.Setxattr(p, name, []byte(value), 0))
}

func runTool(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// TestXattrsOverSFTPSaySo: over SFTP, which cannot carry attributes, the
// plan says once that they are not kept, and the run still completes.
func TestXattrsOverSFTPSaySo(t *testing.T) {
	w := newSSHWorld(t, true, "detrend")
	must(t, os.MkdirAll(filepath.Join(w.src, "detrend"), 0o755))
	writeFile(t, filepath.Join(w.src, "detrend/db"), "records\n")
	setXattr(t, filepath.Join(w.src, "detrend/db"), "user.origin", "uhane")
	w.mustRun(0, "init", "elixir")
	r := w.mustRun(0, "backup", "elixir", "-n")
	if n := strings.Count(r.stdout, "note: extended attributes and ACLs not kept: uhane:"); n != 1 {
		t.Errorf("the plan says %d times (want once) that attributes are not kept:\n%s", n, r.stdout)
	}
	w.mustRun(0, "backup", "elixir")
	if _, err := os.Stat(filepath.Join(w.dst, "detrend/db")); err != nil {
		t.Errorf("the run did not copy the file: %v", err)
	}
}
