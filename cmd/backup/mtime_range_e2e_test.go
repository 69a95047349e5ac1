package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// farTimes are modification times SFTP v3 cannot carry (its times are
// unsigned 32-bit seconds: 1970 to 2106), and one it can, for contrast.
var farTimes = map[string]time.Time{
	"before-epoch.txt": time.Unix(-1, 0),
	"year-1900.txt":    time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC),
	"year-2107.txt":    time.Date(2107, 3, 1, 0, 0, 0, 0, time.UTC),
	"year-2020.txt":    time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC),
}

// TestFarMtimesOverSSH (issue 8 item 11): files dated before 1970 or
// after 2106 arrive on a mirror over SSH with their times exactly (the
// host's touch sets what SFTP cannot), and a second run copies nothing;
// with no touch on the mirror host the times wrap as SFTP carries them,
// the run says so, and still no run copies them again.
func TestFarMtimesOverSSH(t *testing.T) {
	for _, mode := range []struct {
		name    string
		noTouch bool
	}{{"exact", false}, {"host-without-touch", true}} {
		t.Run(mode.name, func(t *testing.T) {
			var env map[string]string
			if mode.noTouch {
				env = map[string]string{"PATH": pathWithout(t, "touch")}
			}
			sw := newSSHWorldEnv(t, false, env, "detrend")
			for name, mt := range farTimes {
				p := filepath.Join(sw.src, "detrend", name)
				writeFile(t, p, "dated "+name)
				must(t, os.Chtimes(p, mt, mt))
			}
			sw.mustRun(0, "init", "elixir")
			sw.mustRun(0, "backup", "elixir")
			for name := range farTimes {
				// The source's own file system may clamp (ext4 keeps 1901 on).
				si, err := os.Lstat(filepath.Join(sw.src, "detrend", name))
				must(t, err)
				mt := si.ModTime()
				fi, err := os.Lstat(filepath.Join(sw.dst, "detrend", name))
				must(t, err)
				exact := !mode.noTouch || name == "year-2020.txt"
				if exact && !fi.ModTime().Equal(mt) {
					t.Errorf("%s: mirror mtime %v, want %v", name, fi.ModTime().UTC(), mt)
				}
			}
			for i := 0; i < 2; i++ {
				r := sw.mustRun(0, "backup", "elixir", "-n")
				if mode.noTouch && !strings.Contains(r.stdout, "outside 1970–2106 not kept") {
					t.Errorf("times the mirror cannot keep were not mentioned:\n%s", r.stdout)
				}
				for name := range farTimes {
					if strings.Contains(r.stdout, name) {
						t.Errorf("run %d plans %s again:\n%s", i+2, name, r.stdout)
					}
				}
				sw.mustRun(0, "backup", "elixir")
			}
			if !mode.noTouch {
				sw.assertSame()
			}
		})
	}
}

// pathWithout returns a PATH of one directory that links every command of
// /usr/bin and /bin except those named.
func pathWithout(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	skip := map[string]bool{}
	for _, n := range names {
		skip[n] = true
	}
	for _, from := range []string{"/usr/bin", "/bin", "/usr/sbin"} {
		entries, err := os.ReadDir(from)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if skip[e.Name()] {
				continue
			}
			_ = os.Symlink(filepath.Join(from, e.Name()), filepath.Join(dir, e.Name())) // first one wins
		}
	}
	return dir
}
