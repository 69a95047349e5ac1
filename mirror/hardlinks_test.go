package mirror

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestKeepHardLinks checks the plan made for hard-link groups: which
// member is copied, which are linked and to what, and which mirror files
// get a copy of their own when the source broke their link.
func TestKeepHardLinks(t *testing.T) {
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type tree struct {
		files map[string]string // path: content
		links [][2]string       // [new, existing]: made with link(2)
	}
	for _, tc := range []struct {
		name     string
		src, dst tree
		want     []string // "op path [=> leader]", in plan order
	}{
		{"new group: first copied, others linked",
			tree{map[string]string{"a": "x", "c": "y"}, [][2]string{{"b", "a"}, {"d/e", "a"}}},
			tree{},
			[]string{"copy a", "hardlink b => a", "copy c", "hardlink d/e => a"}},
		{"group in place: nothing",
			tree{map[string]string{"a": "x"}, [][2]string{{"b", "a"}}},
			tree{map[string]string{"a": "x"}, [][2]string{{"b", "a"}}},
			nil},
		{"two separate copies become one file",
			tree{map[string]string{"a": "x"}, [][2]string{{"b", "a"}}},
			tree{map[string]string{"a": "x", "b": "x"}, nil},
			[]string{"hardlink b => a"}},
		{"leader replaced: members relinked",
			tree{map[string]string{"a": "newer"}, [][2]string{{"b", "a"}}},
			tree{map[string]string{"a": "old"}, [][2]string{{"b", "a"}}},
			[]string{"update a", "hardlink b => a"}},
		{"link broken on the source: the later path copied anew",
			tree{map[string]string{"a": "x", "b": "x"}, nil},
			tree{map[string]string{"a": "x"}, [][2]string{{"b", "a"}}},
			[]string{"update b"}},
		{"member moved to another group",
			tree{map[string]string{"a": "x", "c": "x"}, [][2]string{{"d", "c"}}},
			tree{map[string]string{"a": "x", "c": "x"}, [][2]string{{"d", "a"}}},
			[]string{"hardlink d => c"}},
		{"links outside the scope are no group",
			tree{map[string]string{"a": "x", ".backup-x": "x"}, [][2]string{{".backup-y", "a"}}},
			tree{},
			[]string{"copy a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			for root, tr := range map[string]tree{src: tc.src, dst: tc.dst} {
				for p, c := range tr.files {
					write(t, root, p, c, mtime)
				}
				for _, l := range tr.links {
					must(t, os.MkdirAll(filepath.Dir(filepath.Join(root, l[0])), 0o755))
					must(t, os.Link(filepath.Join(root, l[1]), filepath.Join(root, l[0])))
				}
				if root == dst { // directories of the source exist on the mirror alike
					for p := range tc.src.files {
						must(t, os.MkdirAll(filepath.Dir(filepath.Join(dst, p)), 0o755))
					}
				}
			}
			mkdirsLike(t, src, dst)
			p, err := MakePlan(context.Background(), openLocal(t, src), openLocal(t, dst), Options{Delete: true, HardLinks: true})
			must(t, err)
			var got []string
			for _, a := range p.Actions {
				if a.Op == OpMkdir || (a.Op == OpMeta && a.Src.IsDir()) {
					continue
				}
				s := a.Op.String() + " " + a.Path
				if a.LinkTo != "" {
					s += " => " + a.LinkTo
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// mkdirsLike gives the directories of dst the mtime of src's root, so
// that only files differ.
func mkdirsLike(t *testing.T, src, dst string) {
	t.Helper()
	for _, root := range []string{src, dst} {
		must(t, filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				err = os.Chtimes(p, time.Unix(0, 0), time.Unix(0, 0))
			}
			return err
		}))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
