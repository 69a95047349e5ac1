package mirror

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

func TestComparePathsIsWalkOrder(t *testing.T) {
	// The order a depth-first walk with names sorted yields.
	walk := []string{"a", "a/b", "a/b/c", "a.txt", "a0", "b", "b/ z", "b/a", "é"}
	shuffled := slices.Clone(walk)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, comparePaths)
	if !slices.Equal(shuffled, walk) {
		t.Fatalf("sorted %q, want %q", shuffled, walk)
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{{"a", "a", 0}, {"a/b", "a.txt", -1}, {"a.txt", "a/b", 1}, {"x/y", "x", 1}} {
		if got := comparePaths(tc.a, tc.b); got != tc.want {
			t.Errorf("comparePaths(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func openLocal(t testing.TB, dir string) *transport.Local {
	t.Helper()
	fsys, err := transport.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func write(t testing.TB, root, name, content string, mtime time.Time) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestPlanOps checks the action chosen for each kind of difference.
func TestPlanOps(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	write(t, src, "d/same", "same", t0)
	write(t, dst, "d/same", "same", t0)
	write(t, src, "d/new", "new", t0)
	write(t, src, "d/size", "longer", t0)
	write(t, dst, "d/size", "short", t0)
	write(t, src, "d/time", "abcd", t0)
	write(t, dst, "d/time", "abcd", t0.Add(time.Second))
	write(t, src, "d/perm", "p", t0)
	write(t, dst, "d/perm", "p", t0)
	if err := os.Chmod(filepath.Join(src, "d/perm"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(t, dst, "d/gone", "x", t0)
	write(t, src, "d/typ/inner", "dir now", t0)
	write(t, dst, "d/typ", "file before", t0)
	if err := os.Symlink("same", filepath.Join(src, "d/link")); err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(context.Background(), openLocal(t, src), openLocal(t, dst), Options{Dirs: []string{"d"}, Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range p.Actions {
		if a.Path != "d" { // the directory's own mtime differs by chance
			got[a.Path] += a.Op.String() + " "
		}
	}
	want := map[string]string{
		"d/new": "copy ", "d/size": "update ", "d/time": "update ", "d/perm": "meta ",
		"d/gone": "delete ", "d/typ": "set-aside mkdir ", "d/typ/inner": "copy ", "d/link": "symlink ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: ops %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected action on %s: %s", k, got[k])
		}
	}
	if p.Totals.Deletes != 2 { // d/gone and the file d/typ set aside
		t.Errorf("deletes = %d, want 2", p.Totals.Deletes)
	}
}

func TestFlagsAndDisplayName(t *testing.T) {
	f := &Entry{FileInfo: transport.FileInfo{Mode: 0o644}}
	for _, tc := range []struct {
		a    Action
		want string
	}{
		{Action{Op: OpCopy, Src: f}, ">f+++++++++"},
		{Action{Op: OpUpdate, Src: f, Dst: f, Why: ChangeSize | ChangeTime}, ">f.st......"},
		{Action{Op: OpMeta, Src: f, Dst: f, Why: ChangePerm}, ".f...p....."},
		{Action{Op: OpUpdate, Src: f, Dst: f, Why: ChangeContent}, ">fc........"},
		{Action{Op: OpDelete, Dst: f}, "*deleting  "},
	} {
		if got := tc.a.Flags(); got != tc.want {
			t.Errorf("%v: flags %q, want %q", tc.a.Op, got, tc.want)
		}
	}
	if got := DisplayName("evil\nname\\x"); got != `evil\#012name\\x` {
		t.Errorf("DisplayName = %q", got)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	sum, attrs := transport.Sum{1, 2, 3}, xattrDigest([]transport.Xattr{{Name: "user.a", Value: []byte("1")}})
	m := Manifest{
		"a":          {Path: "a", Mode: 0o755 | os.ModeDir, ModTime: time.Unix(5, 6), Xattrs: &attrs},
		"a/f\tx\n\"": {Path: "a/f\tx\n\"", Mode: 0o640, Size: 12, ModTime: time.Unix(7, 8), Sum: &sum, Trust: Racy, Xattrs: &attrs},
		"a/l":        {Path: "a/l", Mode: 0o777 | os.ModeSymlink, ModTime: time.Unix(9, 0)},
	}
	data := m.Bytes([]string{"a", "a/f\tx\n\"", "a/l"})
	back, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		b := back[k]
		if b.Mode != v.Mode || b.Size != v.Size || !b.ModTime.Equal(v.ModTime) || b.Trust != v.Trust ||
			!sameSum(b.Sum, v.Sum) || !sameSum(b.Xattrs, v.Xattrs) {
			t.Errorf("%q: got %+v, want %+v", k, b, v)
		}
	}
	// v2 (no xattrs field) and v1 (no trust either) are read as well.
	old, err := ParseManifest([]byte("f\t644\t1\t2\t-\tracy\t\"v2\"\nf\t644\t1\t2\t-\t\"v1\"\n"))
	if err != nil || old["v2"].Trust != Racy || old["v2"].Xattrs != nil || old["v1"].Trust != Trusted {
		t.Errorf("older manifests: %+v, %v", old, err)
	}
	for _, bad := range []string{"f\t644\t1\t2\t-", "x\t644\t1\t2\t-\t\"a\"", "f\t644\t1\t2\t-\t\"../a\"", "f\t9\t1\t2\t-\t\"a\"", "f\t644\t1\t2\tzz\t\"a\""} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("ParseManifest(%q) accepted", bad)
		}
	}
}

func sameSum(a, b *transport.Sum) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// TestXattrDigest: attribute lists differing in a name, a value or where
// one ends and the next begins have different digests.
func TestXattrDigest(t *testing.T) {
	x := func(kv ...string) []transport.Xattr {
		var out []transport.Xattr
		for i := 0; i < len(kv); i += 2 {
			out = append(out, transport.Xattr{Name: kv[i], Value: []byte(kv[i+1])})
		}
		return out
	}
	lists := [][]transport.Xattr{nil, x("user.a", ""), x("user.a", "1"), x("user.b", "1"), x("user.a", "1", "user.b", "2"), x("user.a", "1user.b2")}
	seen := map[transport.Sum]int{}
	for i, l := range lists {
		d := xattrDigest(l)
		if j, ok := seen[d]; ok {
			t.Errorf("lists %d and %d have one digest", j, i)
		}
		seen[d] = i
	}
	if xattrDigest(x("user.a", "1")) != xattrDigest(x("user.a", "1")) {
		t.Error("the digest is not a function of the list")
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("# h\nf\t644\t1\t2\t-\t\"a\"\n"))
	f.Add([]byte("d\t755\t0\t0\t-\t\"a b\"\nl\t777\t0\t0\t-\t\"a b/c\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		order := make([]string, 0, len(m))
		for p := range m {
			order = append(order, p)
		}
		slices.Sort(order)
		back, err := ParseManifest(m.Bytes(order))
		if err != nil || len(back) != len(m) {
			t.Fatalf("round trip: %v, %d vs %d entries", err, len(back), len(m))
		}
	})
}

// BenchmarkPlan20k measures planning a no-change run over a tree of
// 20,000 files in 500 directories (both copies local): the walk of both
// trees and the merge. go test ./mirror -run x -bench Plan20k -benchmem
func BenchmarkPlan20k(b *testing.B) {
	src, dst := b.TempDir(), b.TempDir()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for d := range 500 {
		for f := range 40 {
			name := fmt.Sprintf("dir%03d/sub/file%02d.dat", d, f)
			content := strings.Repeat("x", 100+f)
			write(b, src, name, content, t0)
			write(b, dst, name, content, t0)
		}
	}
	s, d := openLocal(b, src), openLocal(b, dst)
	b.ResetTimer()
	for b.Loop() {
		p, err := MakePlan(context.Background(), s, d, Options{Delete: true})
		if err != nil {
			b.Fatal(err)
		}
		if p.Totals.SourceFiles != 20000 {
			b.Fatalf("source files %d", p.Totals.SourceFiles)
		}
	}
}

// TestSameTime: times compare at the precision both sides carry, and a
// time outside 1970–2106 matches what SFTP's 32-bit seconds make of it,
// so that such a file is not copied again on every run (issue 8 item 11).
func TestSameTime(t *testing.T) {
	sec := func(s int64) time.Time { return time.Unix(s, 0) }
	for _, c := range []struct {
		name string
		a, b time.Time
		want bool
	}{
		{"equal", time.Unix(1700000000, 5), time.Unix(1700000000, 5), true},
		{"whole seconds on one side", time.Unix(1700000000, 5), sec(1700000000), true},
		{"nanoseconds differ", time.Unix(1700000000, 5), time.Unix(1700000000, 6), false},
		{"seconds differ", sec(1700000000), sec(1700000001), false},
		{"before 1970 wrapped", sec(-1), sec(1<<32 - 1), true},
		{"after 2106 wrapped", sec(1<<32 + 100), sec(100), true},
		{"wrapped the other way round", sec(100), sec(1<<32 + 100), true},
		{"before 1970, not its wrap", sec(-1), sec(1<<32 - 2), false},
	} {
		if got := sameTime(c.a, c.b); got != c.want {
			t.Errorf("%s: sameTime(%v, %v) = %v, want %v", c.name, c.a.Unix(), c.b.Unix(), got, c.want)
		}
	}
}
