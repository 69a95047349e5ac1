package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport/sshtest"
	"github.com/zeebo/blake3"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestResolveSSHConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	err := os.WriteFile(cfg, []byte(`
Host uh*
	HostName %h.example.org
	Port 2222
	User backup
	IdentityFile ~/.ssh/id_backup
	IdentityFile `+dir+`/%r@%h
	UserKnownHostsFile `+dir+`/kh1 `+dir+`/kh2
	StrictHostKeyChecking accept-new
	ConnectTimeout 7
	ServerAliveInterval 5
	ServerAliveCountMax 2
Host mamane
	HostName 10.0.0.2
	StrictHostKeyChecking no
Host jumpy
	ProxyJump gate
Host *
	User fallback
	IdentitiesOnly yes
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := loadSSHConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := cs.resolve("uhane", "")
	if err != nil {
		t.Fatal(err)
	}
	home := homeDir()
	want := &hostConfig{
		Alias: "uhane", HostName: "uhane.example.org", Port: "2222", User: "backup",
		IdentityFiles:  []string{home + "/.ssh/id_backup", dir + "/backup@uhane.example.org"},
		IdentitiesOnly: true, KnownHosts: []string{dir + "/kh1", dir + "/kh2"},
		Strict: "accept-new", StrictAsked: "accept-new",
		ConnectTimeout: 7 * time.Second, AliveInterval: 5 * time.Second, AliveCountMax: 2,
	}
	got := fmt.Sprintf("%v %v %v %v %v %v %v %v %v %v %v", hc.HostName, hc.Port, hc.User, hc.IdentityFiles,
		hc.IdentitiesOnly, hc.KnownHosts, hc.Strict, hc.ConnectTimeout, hc.AliveInterval, hc.AliveCountMax, hc.Alias)
	exp := fmt.Sprintf("%v %v %v %v %v %v %v %v %v %v %v", want.HostName, want.Port, want.User, want.IdentityFiles,
		want.IdentitiesOnly, want.KnownHosts, want.Strict, want.ConnectTimeout, want.AliveInterval, want.AliveCountMax, want.Alias)
	if got != exp {
		t.Errorf("uhane:\n got %s\nwant %s", got, exp)
	}
	hc, err = cs.resolve("mamane", "root")
	if err != nil {
		t.Fatal(err)
	}
	if hc.HostName != "10.0.0.2" || hc.Port != "22" || hc.User != "root" || hc.Strict != "yes" ||
		hc.IdentityFiles[0] != home+"/.ssh/id_ed25519" || hc.KnownHosts[0] != home+"/.ssh/known_hosts" {
		t.Errorf("mamane: %+v", hc)
	}
	if _, err := cs.resolve("jumpy", ""); err == nil || !strings.Contains(err.Error(), "ProxyJump") {
		t.Errorf("ProxyJump: %v", err)
	}
	if cs, err := loadSSHConfig(filepath.Join(dir, "missing")); err != nil || len(cs.files) != 0 {
		t.Errorf("missing config: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"plain", "with space", "it's", `"dq"`, "new\nline", "-n", "$(id)", "`id`", `\`, "'", "''", "a'b'c", "*", "~"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) gave %q, %v", s, out, err)
		}
	}
}

func TestParseSumLines(t *testing.T) {
	h := strings.Repeat("ab", 32)
	out := h + "  ./plain\n\\" + h + "  ./new\\nline\\\\x\nnoise\n" + h + "  ./two  spaces\n"
	got := parseSumLines([]byte(out))
	want := []string{"./plain", "./new\nline\\x", "./two  spaces"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].name != want[i] || got[i].sum.String() != h {
			t.Errorf("line %d: %+v", i, got[i])
		}
	}
}

func TestHostKeyAlgorithmsOrder(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(&priv.PublicKey)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize("10.1.1.1:2222")}, pub)
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hc := &hostConfig{KnownHosts: []string{kh}}
	algos := newHostKeyChecker(hc, "10.1.1.1:2222").algorithms()
	if algos[0] != ssh.KeyAlgoECDSA256 {
		t.Errorf("known ecdsa key: algorithms start %v", algos[:3])
	}
	algos = newHostKeyChecker(hc, "10.1.1.1:22").algorithms()
	if algos[0] == ssh.KeyAlgoECDSA256 {
		t.Errorf("another port took the key of [10.1.1.1]:2222")
	}
}

// testHosts starts a host and a Dialer whose remote PATH has the fake
// b3sum (see TestMain).
func testHosts(t *testing.T) (*sshtest.Server, *Dialer) {
	bin := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "b3sum")); err != nil {
		t.Fatal(err)
	}
	s := sshtest.Start(t, "h")
	d := &Dialer{SSHConfig: s.Config, RemotePath: "~/nonexistent:" + bin}
	t.Cleanup(func() { d.Close() })
	return s, d
}

func TestSharedConnection(t *testing.T) {
	_, d := testHosts(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	fss := make([]FS, 10)
	for i := range fss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := d.Dial(context.Background(), table.Endpoint{Host: "h", Path: dir})
			if err != nil {
				t.Error(err)
				return
			}
			fss[i] = f
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	c := fss[0].(*sftpFS).c
	for _, f := range fss {
		if f.(*sftpFS).c != c {
			t.Fatal("two connections to one login")
		}
	}
	for _, f := range fss[1:] {
		f.Close()
		f.Close() // twice is fine
	}
	if !c.alive() {
		t.Fatal("connection closed while an FS uses it")
	}
	fss[0].Close()
	if c.alive() {
		t.Fatal("connection open after the last FS closed")
	}
}

func TestRemoteHashHostileNames(t *testing.T) {
	_, d := testHosts(t)
	dir := t.TempDir()
	fsys, err := d.Dial(context.Background(), table.Endpoint{Host: "h", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	old := remoteHashMin
	remoteHashMin = 0
	defer func() { remoteHashMin = old }()
	names := []string{"a", "new\nline", `back\slash`, "-dash", "it's", "$(touch pwned)", "ünï", "cr\rx"}
	for i, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(strings.Repeat(n, i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := fsys.(*sftpFS)
	if tool := f.c.hashTool(); tool != "b3sum" {
		t.Fatalf("probe found %q, want b3sum", tool)
	}
	sums := make([]Sum, len(names))
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	missed, err := f.hashRemote("b3sum", names, idx, sums)
	if err != nil || len(missed) != 0 {
		t.Fatalf("hashRemote: missed %v, %v", missed, err)
	}
	for i, n := range names {
		if sums[i] != Sum(blake3.Sum256([]byte(strings.Repeat(n, i+1)))) {
			t.Errorf("wrong sum for %q", n)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("a name ran as a command")
	}
	os.Remove(filepath.Join(dir, "a"))
	missed, err = f.hashRemote("b3sum", names, idx, sums)
	if err != nil || len(missed) != 1 || missed[0] != 0 {
		t.Errorf("with a missing file: missed %v, %v", missed, err)
	}
}

// walkReadDir lists the tree below dir with ReadDir and Readlink, in walk
// order.
func walkReadDir(t *testing.T, fsys FS, dir string) []TreeEntry {
	infos, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []TreeEntry
	for _, fi := range infos {
		e := TreeEntry{Path: path.Join(dir, fi.Name), FileInfo: fi}
		if fi.IsSymlink() {
			if e.Link, err = fsys.Readlink(e.Path); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, e)
		if fi.IsDir() {
			out = append(out, walkReadDir(t, fsys, e.Path)...)
		}
	}
	return out
}

func TestListTree(t *testing.T) {
	_, d := testHosts(t)
	dir := t.TempDir()
	for _, p := range []string{"a/b/c", "a.b", "a b/new\nline", "-x/ü"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p, "f\\"+strings.Repeat("x", len(p))), []byte(p), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("../../etc/passwd", filepath.Join(dir, "a/evil")))
	must(os.Symlink("/", filepath.Join(dir, "root link")))
	must(exec.Command("mkfifo", filepath.Join(dir, "a/fifo")).Run())
	must(os.Chmod(filepath.Join(dir, "a/b"), 0o2755|os.ModeSetgid|os.ModeSticky))
	fsys, err := d.Dial(context.Background(), table.Endpoint{Host: "h", Path: dir})
	must(err)
	defer fsys.Close()
	for _, sub := range []string{".", "a"} {
		got, err := fsys.(TreeLister).ListTree(sub)
		must(err)
		for i := range got { // SFTP's stat has no link count, device or inode
			if got[i].Nlink == 0 || got[i].Ino == 0 {
				t.Errorf("ListTree(%s): %s has no link count or inode: %+v", sub, got[i].Path, got[i].FileInfo)
			}
			got[i].Nlink, got[i].Dev, got[i].Ino = 0, 0, 0
		}
		want := walkReadDir(t, fsys, sub)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ListTree(%s):\n got %v\nwant %v", sub, got, want)
		}
	}
	if _, err := fsys.(TreeLister).ListTree("root link"); err == nil {
		t.Error("ListTree through a symlink")
	}
}

func TestAcceptNewHashed(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(&priv.PublicKey)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	hc := &hostConfig{KnownHosts: []string{kh}, Strict: "accept-new", HashKnownHosts: true}
	k := newHostKeyChecker(hc, "10.1.1.1:2222")
	if err := k.check("", nil, pub); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(kh)
	if !strings.HasPrefix(string(b), "|1|") || strings.Contains(string(b), "10.1.1.1") {
		t.Errorf("line not hashed: %q", b)
	}
	hc.Strict = "yes"
	if err := k.check("", nil, pub); err != nil {
		t.Errorf("hashed line not found again: %v", err)
	}
	if err := newHostKeyChecker(hc, "10.1.1.1:22").check("", nil, pub); err == nil {
		t.Errorf("the key of [10.1.1.1]:2222 was accepted for port 22")
	}
}
