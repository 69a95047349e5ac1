package table

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// writeTable copies testdata/tables/name to dir/file with mode perm.
func writeTable(t *testing.T, name, file string, perm fs.FileMode) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tablesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, perm); err != nil { // no umask
		t.Fatal(err)
	}
	return data
}

func readGolden(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tablesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.tab")
	orig := writeTable(t, "elixir.tab", file, 0o640)
	old, err := os.Open(file) // the old file, to see that it is replaced, not rewritten
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()

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
	got, _ := os.ReadFile(file)
	if want := readGolden(t, "swapped/elixir.elixir.tab"); string(got) != want {
		t.Errorf("file holds\n%s\nwant\n%s", got, want)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode() != 0o640 {
		t.Errorf("mode after WriteFile = %v, %v; want -rw-r-----", fi.Mode(), err)
	}
	if before, _ := io.ReadAll(old); string(before) != string(orig) {
		t.Errorf("the old file was rewritten in place: %q", before)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v, want backup.tab alone", entries)
	}

	// The written text is now the table's own: swapping back and writing
	// again works and restores the original.
	if err := tab.SwapRoles("elixir"); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteFile(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); string(got) != string(orig) {
		t.Errorf("after swapping back the file holds\n%s", got)
	}
}

func TestWriteFileChanged(t *testing.T) {
	file := filepath.Join(t.TempDir(), "backup.tab")
	writeTable(t, "elixir.tab", file, 0o644)
	tab, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := "# edited by hand meanwhile\n"
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tab.SwapRoles("elixir"); err != nil {
		t.Fatal(err)
	}
	err = tab.WriteFile()
	want := "backup table " + file + ": backup table changed on disk since it was read; load it again"
	if !errors.Is(err, ErrTableChanged) || err.Error() != want {
		t.Errorf("WriteFile = %v, want %s", err, want)
	}
	if got, _ := os.ReadFile(file); string(got) != edited {
		t.Errorf("the edited file was overwritten: %q", got)
	}
}

func TestWriteFileNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "new.tab")
	data := []byte(readGolden(t, "multi.tab"))
	tab, err := Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteFile(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode() != 0o644 {
		t.Fatalf("new file mode = %v, %v; want -rw-r--r--", fi.Mode(), err)
	}
	if got, _ := os.ReadFile(file); string(got) != string(data) {
		t.Errorf("new file holds %q", got)
	}
}

func TestWriteFileSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "shared", "backup.tab")
	if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTable(t, "elixir.tab", real, 0o600)
	link := filepath.Join(dir, "backup.tab")
	if err := os.Symlink("shared/backup.tab", link); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.SwapRoles("elixir"); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteFile(); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != "shared/backup.tab" {
		t.Errorf("the link was replaced: %q, %v", target, err)
	}
	got, _ := os.ReadFile(real)
	if want := readGolden(t, "swapped/elixir.elixir.tab"); string(got) != want {
		t.Errorf("linked file holds\n%s", got)
	}
	if fi, _ := os.Stat(real); fi.Mode() != 0o600 {
		t.Errorf("mode = %v, want -rw-------", fi.Mode())
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	tab, err := Parse(filepath.Join(dir, "missing", "backup.tab"), []byte(readGolden(t, "elixir.tab")))
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteFile(); err == nil {
		t.Errorf("WriteFile into a missing directory succeeded")
	}
	if err := (&Table{}).WriteFile(); err == nil {
		t.Errorf("WriteFile without a file name succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
