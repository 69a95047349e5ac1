//go:build unix

package table

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mirrorfence/mirrorfence/internal/testenv"
)

func TestWriteFileKeepsOwner(t *testing.T) {
	testenv.NeedRoot(t) // to give the file another owner
	file := filepath.Join(t.TempDir(), "backup.tab")
	writeTable(t, "elixir.tab", file, 0o640)
	if err := os.Chown(file, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.SwapRoles("elixir"); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteFile(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 4242 || st.Gid != 4343 || fi.Mode() != 0o640 {
		t.Errorf("owner %d:%d mode %v, want 4242:4343 -rw-r-----", st.Uid, st.Gid, fi.Mode())
	}
}
