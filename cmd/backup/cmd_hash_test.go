package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
)

// TestHashLikeB3sum: backup hash prints what b3sum prints, escapes
// included, in argument order; the empty input hashes to BLAKE3's known
// value (the transport's trust probe).
func TestHashLikeB3sum(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	odd := filepath.Join(dir, "a\\b\nc")
	must(t, os.WriteFile(plain, []byte("abc"), 0o644))
	must(t, os.WriteFile(odd, nil, 0o644))
	w := newWorld(t)
	r := w.mustRun(0, "hash", "--", plain, odd, "/dev/null")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	const empty = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
	want := []string{
		"6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85  " + plain,
		`\` + empty + "  " + strings.ReplaceAll(strings.ReplaceAll(odd, `\`, `\\`), "\n", `\n`),
		empty + "  /dev/null",
	}
	if len(lines) != len(want) {
		t.Fatalf("hash printed %q", r.stdout)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	s, _, _ := transport.HashReader(strings.NewReader(""))
	if s.String() != empty {
		t.Fatalf("empty BLAKE3 %s", s)
	}
}
