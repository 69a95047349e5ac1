package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// needRoot skips a test that must own files as other users, saying so;
// under CI=true it fails instead, since CI runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t)
}

// ownedTree adds to root, inside DIR detrend, entries owned by other users
// the way /usr/share/polkit-1/rules.d is on a stock Debian: a directory of
// uid 996 with mode 0700, a file and a symlink of other owners in it, and
// a directory whose group alone differs.
func ownedTree(t *testing.T, root string) {
	t.Helper()
	rules := filepath.Join(root, "detrend/rules.d")
	must(t, os.MkdirAll(filepath.Join(rules, "nested"), 0o755))
	writeFile(t, filepath.Join(rules, "49-polkit.rules"), "polkit.addRule(...)")
	writeFile(t, filepath.Join(rules, "nested/root-owned.txt"), "root's, inside 996's directory")
	must(t, os.Symlink("49-polkit.rules", filepath.Join(rules, "link")))
	must(t, os.Mkdir(filepath.Join(root, "detrend/group-only"), 0o2770))
	for _, c := range []struct {
		path     string
		uid, gid int
	}{
		{"detrend/rules.d/49-polkit.rules", 996, 996},
		{"detrend/rules.d/link", 995, 994},
		{"detrend/rules.d/nested", 997, 0},
		{"detrend/rules.d", 996, 996},
		{"detrend/group-only", 0, 996},
	} {
		must(t, os.Lchown(filepath.Join(root, c.path), c.uid, c.gid))
	}
	must(t, os.Chmod(filepath.Join(root, "detrend/group-only"), 0o2770|fs.ModeSetgid))
	must(t, os.Chmod(rules, 0o700))
}

// owners lists "path uid:gid" for every entry below root but the tool's
// own files: an oracle of owners that does not depend on rsync's options.
func owners(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(rel, ".backup-") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		lines = append(lines, fmt.Sprintf("%s %d:%d %v", rel, st.Uid, st.Gid, fi.Mode()))
		return nil
	}))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// assertOwnersSame compares owners, groups and modes of every entry in
// the DIRs of both copies, and asks rsync (-a as root keeps owners) too.
func (w *world) assertOwnersSame() {
	w.t.Helper()
	for _, s := range w.scopes() {
		if a, b := owners(w.t, s.src), owners(w.t, s.dst); a != b {
			w.t.Fatalf("owners differ between %s and %s:\nsource:\n%s\nmirror:\n%s", s.src, s.dst, a, b)
		}
	}
	w.assertSame()
}

// TestOwnersKept: run as root, the owner and group of every entry —
// directories (new and existing), files and symlinks — arrive as on the
// source, locally and over SSH (third host, and on the mirror host); a
// later run puts back an owner changed on either copy.
func TestOwnersKept(t *testing.T) {
	needRoot(t)
	for _, mode := range []string{"local", "ssh-third-host", "ssh-on-mirror-host"} {
		t.Run(mode, func(t *testing.T) {
			var w *world
			switch mode {
			case "local":
				w = newWorld(t, "detrend", "tests")
			default:
				w = newSSHWorld(t, mode == "ssh-on-mirror-host", "detrend", "tests").world
			}
			makeTree(t, w.src)
			ownedTree(t, w.src)
			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "backup", "elixir")
			w.assertOwnersSame()

			// The source's owners change; the mirror's directory owner was
			// lost (as runs before this fix left it): the next run fixes both.
			must(t, os.Lchown(filepath.Join(w.src, "detrend/rules.d/nested"), 998, 998))
			must(t, os.Lchown(filepath.Join(w.src, "tests/nested/a"), 996, 0))
			must(t, os.Lchown(filepath.Join(w.src, "detrend/rules.d/link"), 0, 0))
			must(t, os.Lchown(filepath.Join(w.dst, "detrend/group-only"), 0, 0))
			w.mustRun(0, "backup", "elixir")
			w.assertOwnersSame()
			w.mustRun(0, "backup", "elixir")
			w.assertOwnersSame()
		})
	}
}
