package main

import (
	"fmt"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/mirrorfence/mirrorfence/transport/sshtest"
)

// mirrorHost is the ssh_config alias of the mirror host for both tools.
const mirrorHost = "mamane"

// bench is one run: the data sets, the sshd, the forwarder in front of
// it, and the two tools.
type bench struct {
	opt  options
	work string // the work dir of this size: src/, mirror-*/, backup.tab
	sets []*dataset
	tb   *runTB
	srv  *sshtest.Server
	fwd  *forwarder
	cfg  string // ssh_config: mirrorHost → the forwarder
	kh   string // known_hosts for the forwarder's address

	changes   int    // changes made to the source so far: see scenarios
	launcher  string // GNU time or this binary: see measure
	rssFloor  int64  // the launcher's own peak RSS, KiB
	remoteEnv string // the session environment, as the remote shell sees it
}

func (b *bench) src(d *dataset) string { return filepath.Join(b.work, "src", d.name) }

// startServer starts sshd with a clean session environment and the
// byte-counting forwarder, and writes the ssh_config and known_hosts both
// tools use.
func (b *bench) startServer() error {
	path := "/usr/local/bin:/usr/bin:/bin"
	if b.opt.helper {
		path = filepath.Dir(b.opt.backup) + ":" + path // the remote hasher of 'backup check'
	}
	home := filepath.Join(b.work, "home") // empty: the shell reads no start-up files
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	env := map[string]string{"HOME": home, "PATH": path, "LANG": "C", "LC_ALL": "C"}
	b.srv = sshtest.StartWith(b.tb, sshtest.Options{Hosts: []string{mirrorHost}, Env: env})
	h := b.srv.Host(mirrorHost)
	fwd, err := startForwarder(h.Addr())
	if err != nil {
		return err
	}
	b.fwd = fwd
	b.tb.Cleanup(fwd.Close)
	a := fwd.Addr()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "Host %s\n\tHostName %s\n\tPort %d\n\tUser %s\n", mirrorHost, a.IP, a.Port, b.srv.User)
	fmt.Fprintf(&cfg, "\tIdentityFile %s\n\tIdentitiesOnly yes\n", b.srv.IdentityFile)
	fmt.Fprintf(&cfg, "\tUserKnownHostsFile %s\n\tGlobalKnownHostsFile /dev/null\n", filepath.Join(b.srv.Dir, "bench_known_hosts"))
	cfg.WriteString("\tStrictHostKeyChecking yes\n\tBatchMode yes\n\tLogLevel ERROR\n\tControlMaster no\n\tControlPath none\n")
	b.kh = b.srv.WriteFile("bench_known_hosts", knownhosts.Line([]string{knownhosts.Normalize(a.String())}, h.HostKey)+"\n")
	b.cfg = b.srv.WriteFile("bench_ssh_config", cfg.String())
	return b.cleanEnv(h, env)
}

// cleanEnv makes sure that the remote sessions get env. sshtest writes a
// SetEnv line per variable, but sshd uses only the first SetEnv line (and
// sshd sets HOME and PATH before it applies SetEnv, so one line can change
// them): when the session lacks env, cleanEnv rewrites the host's
// sshd_config with all of env on one SetEnv line and restarts it. If that
// does not help either, the bench goes on and reports the environment.
func (b *bench) cleanEnv(h *sshtest.Host, env map[string]string) error {
	ok, err := b.sessionHas(env)
	if err != nil || ok {
		return err
	}
	file := filepath.Join(b.srv.Dir, "host-"+h.Name, "sshd_config")
	old, err := os.ReadFile(file)
	if err == nil {
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(string(old), "\n"), "\n") {
			if !strings.HasPrefix(l, "SetEnv ") {
				lines = append(lines, l)
			}
		}
		set := "SetEnv"
		for _, k := range slices.Sorted(maps.Keys(env)) {
			set += fmt.Sprintf(" %q", k+"="+env[k])
		}
		err = os.WriteFile(file, []byte(strings.Join(append(lines, set), "\n")+"\n"), 0o600)
	}
	if err == nil {
		h.Stop()
		err = h.Start()
	}
	if err != nil {
		return fmt.Errorf("setting the session environment: %v", err)
	}
	if ok, err = b.sessionHas(env); err == nil && !ok {
		log.Printf("WARNING: remote sessions do not get a clean environment: %s", b.remoteEnv)
	}
	return err
}

// sessionHas reports whether a remote command sees env, and records what
// it sees of it in b.remoteEnv.
func (b *bench) sessionHas(env map[string]string) (bool, error) {
	out, err := exec.Command("ssh", "-F", b.cfg, mirrorHost, "env").Output()
	if err != nil {
		return false, fmt.Errorf("ssh %s env: %v", mirrorHost, err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	var seen []string
	ok := true
	for _, k := range slices.Sorted(maps.Keys(env)) {
		seen = append(seen, k+"="+got[k])
		ok = ok && got[k] == env[k]
	}
	b.remoteEnv = strings.Join(seen, " ")
	return ok, nil
}

// newTools makes the two tools for one direction: push (the tool on the
// source host, the mirror remote) or pull (the tool on the mirror host,
// the source remote). Each gets its own, empty mirrors; backup gets a table
// with target a, b, c for data set A, B, C.
func (b *bench) newTools(pull bool) ([]*tool, error) {
	var tools []*tool
	for _, name := range []string{"backup", "rsync"} {
		t := &tool{name: name, pull: pull, mirrors: filepath.Join(b.work, "mirror-"+name+direction(pull, "", "-pull")), b: b}
		if err := os.RemoveAll(t.mirrors); err != nil {
			return nil, err
		}
		b.tb.Cleanup(func() { _ = os.RemoveAll(t.mirrors) })
		tools = append(tools, t)
	}
	var tab strings.Builder
	for _, d := range b.sets {
		src, dst := b.src(d), mirrorHost+":"+tools[0].mirror(d)
		if pull {
			src, dst = mirrorHost+":"+src, tools[0].mirror(d)
		}
		fmt.Fprintf(&tab, "TARGET %s\n\tSOURCE %s\n\tMIRROR %s\n", target(d), src, dst)
	}
	tools[0].tab = filepath.Join(b.work, "backup"+direction(pull, "", "-pull")+".tab")
	return tools, os.WriteFile(tools[0].tab, []byte(tab.String()), 0o644)
}

// direction returns push or pull for the direction.
func direction(pull bool, push, pullS string) string {
	if pull {
		return pullS
	}
	return push
}

func target(d *dataset) string { return strings.ToLower(d.name) }

// tool is one of the two programs compared, with its own mirrors.
type tool struct {
	name    string // "backup" or "rsync"
	pull    bool   // run on the mirror host: the source is remote
	mirrors string // parent of this tool's mirror of each data set
	tab     string // backup's table
	b       *bench
}

func (t *tool) mirror(d *dataset) string { return filepath.Join(t.mirrors, d.name) }

// fresh empties the tool's mirror of d; for backup it then stamps the
// pair with 'backup init' (the source keeps its marker between runs).
func (t *tool) fresh(d *dataset) error {
	if err := os.RemoveAll(t.mirror(d)); err != nil {
		return err
	}
	if err := os.MkdirAll(t.mirror(d), 0o755); err != nil {
		return err
	}
	if t.name != "backup" {
		return nil
	}
	out, err := t.backupCmd("init", target(d)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("backup init %s: %v\n%s", target(d), err, out)
	}
	return nil
}

func (t *tool) backupCmd(args ...string) *exec.Cmd {
	b := t.b
	return exec.Command(b.opt.backup, append([]string{"--table", t.tab, "--ssh-config", b.cfg, "--known-hosts", b.kh}, args...)...)
}

func (t *tool) rsyncCmd(d *dataset, flags ...string) *exec.Cmd {
	src, dst := t.b.src(d)+"/", mirrorHost+":"+t.mirror(d)+"/"
	if t.pull {
		src, dst = mirrorHost+":"+src, t.mirror(d)+"/"
	}
	args := append(flags, "--exclude=/.backup-*", "-e", "ssh -F "+t.b.cfg, src, dst)
	return exec.Command("rsync", args...)
}

// copyCmd makes the mirror of d a copy of the source.
func (t *tool) copyCmd(d *dataset) *exec.Cmd {
	if t.name == "backup" {
		return t.backupCmd("backup", target(d))
	}
	return t.rsyncCmd(d, "-a", "--delete")
}

// checkCmd compares source and mirror of d by content, read-only.
func (t *tool) checkCmd(d *dataset) *exec.Cmd {
	if t.name == "backup" {
		return t.backupCmd("check", target(d))
	}
	return t.rsyncCmd(d, "-a", "-c", "-n", "-i", "--delete")
}

// verify compares source and mirror of d locally with rsync by content and
// returns the differences it lists (none when the mirror is identical).
func (b *bench) verify(t *tool, d *dataset) ([]string, error) {
	out, err := exec.Command("rsync", "-a", "-c", "-n", "-i", "--delete", "--exclude=/.backup-*",
		b.src(d)+"/", t.mirror(d)+"/").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("rsync verify: %v\n%s", err, out)
	}
	var diffs []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			diffs = append(diffs, l)
		}
	}
	return diffs, nil
}
