package mirror

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

// TestPermUnreadableSource: denied for real (the unprivileged pass), not
// injected: a source file that cannot be opened and a directory that
// cannot be listed fail the run with fs.ErrPermission naming each; the
// rest is copied, and nothing is deleted — not the file due for deletion,
// not what the unlisted directory holds on the mirror.
func TestPermUnreadableSource(t *testing.T) {
	testenv.Unprivileged(t)
	srcDir, dstDir := t.TempDir(), t.TempDir()
	writeTree(t, srcDir, map[string]string{"d/secret": "no", "d/closed/inside": "no", "d/open": "yes"})
	writeTree(t, dstDir, map[string]string{"d/gone": "deleted on the source", "d/closed/kept": "the mirror's"})
	for _, p := range []string{"d/secret", "d/closed"} {
		if err := os.Chmod(filepath.Join(srcDir, p), 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(srcDir, p), 0o755) })
	}
	p, res := planAndApply(t, openLocal(t, srcDir), openLocal(t, dstDir), nil)
	errs := append(append([]error{}, p.SourceErrors...), res.Errors...)
	named := map[string]bool{}
	for _, err := range errs {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, fs.ErrPermission) {
			named[pe.Path] = true
		}
	}
	if !named["d/secret"] || !named["d/closed"] {
		t.Errorf("errors %v, want permission errors naming d/secret and d/closed", errs)
	}
	got := readTree(t, dstDir)
	want := map[string]string{"d/open": "yes", "d/gone": "deleted on the source", "d/closed/kept": "the mirror's"}
	if d := diffTrees(want, got); d != "" {
		t.Errorf("mirror after the denied reads:\n%s", d)
	}
}
