package transport

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// findRecord is one entry of find's output in findFormat.
func findRecord(typ, mode, size, mtime, rel, link string) string {
	return strings.Join([]string{typ, mode, size, mtime, "0", "0", rel, link, "1", "64768", "4242"}, "\x00") + "\x00"
}

// TestParseFindPartial: find's output and stderr as GNU find 4.9 gives
// them when some directories cannot be read (recorded with LC_ALL=C):
// every entry it printed is kept, each unreadable name is named with its
// bytes (quotearg's escapes read back) and fs.ErrPermission, and a
// record cut short or a message of another form is an error too, never
// dropped: the listing is known to be incomplete.
func TestParseFindPartial(t *testing.T) {
	out := findRecord("f", "644", "3", "1700000000.5000000000", "a.txt", "") +
		findRecord("d", "0", "4096", "1700000000.0000000000", "caf\xe9", "") +
		findRecord("d", "0", "4096", "-1.0000000000", "it's", "") +
		findRecord("d", "0", "4096", "4294967301.0000000000", "new\nline", "") +
		findRecord("d", "0", "4096", "-2208988800.0000000000", "back\\slash", "") +
		findRecord("f", "0", "0", "-0.5000000000", "half", "") +
		"f\x00644\x00" // cut short
	stderr := "find: './d/caf\\351': Permission denied\n" +
		"find: './d/it\\'s': Permission denied\n" +
		"find: './d/new\\nline': Permission denied\n" +
		"/usr/bin/find: './d/back\\\\slash': Permission denied\n" +
		"find: './d/gone': No such file or directory\n" +
		"find: something else entirely\n"
	entries, err := parseFind("d", []byte(out), []byte(stderr))
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
	}
	if want := []string{"d/a.txt", "d/back\\slash", "d/caf\xe9", "d/half", "d/it's", "d/new\nline"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries %q, want %q", got, want)
	}
	wantTimes := map[string]int64{"d/it's": -1, "d/new\nline": 1<<32 + 5, "d/back\\slash": -2208988800, "d/a.txt": 1700000000, "d/half": -1}
	for _, e := range entries {
		if w, ok := wantTimes[e.Path]; ok && e.ModTime.Unix() != w {
			t.Errorf("%q: mtime %d, want %d", e.Path, e.ModTime.Unix(), w)
		}
	}
	if err == nil {
		t.Fatal("no error for a partial listing")
	}
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	named := map[string]error{}
	for _, e := range errs {
		var pe *fs.PathError
		if !errors.As(e, &pe) {
			t.Fatalf("%T %v is not an *fs.PathError", e, e)
		}
		named[pe.Path] = pe.Err
	}
	for _, n := range []string{"d/caf\xe9", "d/it's", "d/new\nline", "d/back\\slash"} {
		if !errors.Is(named[n], fs.ErrPermission) {
			t.Errorf("%q not named as unreadable (permission): %v", n, named[n])
		}
	}
	if !errors.Is(named["d/gone"], fs.ErrNotExist) {
		t.Errorf("a vanished entry is not named: %v", named["d/gone"])
	}
	if len(errs) != 7 || !strings.Contains(err.Error(), "cut short") || !strings.Contains(err.Error(), "something else entirely") {
		t.Errorf("want 7 errors with the cut record and the odd line, got %d:\n%v", len(errs), err)
	}
}

// TestParseFindComplete: a full listing without stderr gives no error, and
// a hostile message cannot name a path outside the root.
func TestParseFindComplete(t *testing.T) {
	entries, err := parseFind(".", []byte(findRecord("f", "600", "1", "5.0", "x", "")), nil)
	if err != nil || len(entries) != 1 || entries[0].Path != "x" {
		t.Fatalf("parseFind: %v, %v", entries, err)
	}
	for _, line := range []string{"find: '../etc': Permission denied", "find: '/etc': Permission denied", "sh: 1: cd: can't cd to '/x': y", "notfind: './a': x", "find: './a\\400': x", "find: './a"} {
		if name, _, ok := parseFindMessage(line); ok {
			t.Errorf("%q read as name %q", line, name)
		}
	}
}
