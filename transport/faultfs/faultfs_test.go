package faultfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
)

func local(t *testing.T) *transport.Local {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "d/c"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte("content of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := transport.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestFaultsActOnChosenCalls: a fault acts on the calls its op and name
// pattern match, after After of them and for Times of them, with its
// error inside an *fs.PathError naming the call's name; the other calls
// reach the wrapped FS.
func TestFaultsActOnChosenCalls(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		calls func(f *FS) []error
		want  []bool // which calls fail
	}{
		{"every matching call", Fault{Op: Lstat, Name: "a"},
			func(f *FS) []error { return lstats(f, "a", "b", "a") }, []bool{true, false, true}},
		{"after and times", Fault{Op: Lstat, Name: "*", After: 1, Times: 1},
			func(f *FS) []error { return lstats(f, "a", "b", "a") }, []bool{false, true, false}},
		{"pattern in a directory", Fault{Op: ReadDir, Name: "d"},
			func(f *FS) []error { _, e1 := f.ReadDir("."); _, e2 := f.ReadDir("d"); return []error{e1, e2} }, []bool{false, true}},
		{"rename by new name", Fault{Op: Rename, To: "c"},
			func(f *FS) []error { return []error{f.Rename("a", "x"), f.Rename("b", "c")} }, []bool{false, true}},
		{"read of one file", Fault{Op: Read, Name: "b"},
			func(f *FS) []error { return []error{readAll(f, "a"), readAll(f, "b")} }, []bool{false, true}},
		{"write of one file", Fault{Op: Write, Name: "new"},
			func(f *FS) []error {
				w, err := f.Create("new", 0o644)
				if err != nil {
					return []error{err}
				}
				_, err = w.Write([]byte("x"))
				w.Close()
				return []error{err}
			}, []bool{true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault.Err = syscall.EIO
			f := New(local(t), tc.fault)
			errs := tc.calls(f)
			for i, err := range errs {
				var pe *fs.PathError
				switch {
				case tc.want[i] && (!errors.Is(err, syscall.EIO) || !errors.As(err, &pe)):
					t.Errorf("call %d: %v, want a *fs.PathError with EIO", i, err)
				case !tc.want[i] && err != nil:
					t.Errorf("call %d failed: %v", i, err)
				}
			}
		})
	}
}

func lstats(f *FS, names ...string) []error {
	var errs []error
	for _, n := range names {
		_, err := f.Lstat(n)
		errs = append(errs, err)
	}
	return errs
}

func readAll(f *FS, name string) error {
	r, err := f.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.ReadAll(r)
	return err
}

// TestHookWithoutErrorLetsTheCallGoOn: a hook runs at the very call, and
// without an error the call then reaches the wrapped FS.
func TestHookWithoutErrorLetsTheCallGoOn(t *testing.T) {
	l := local(t)
	var sawA bool
	f := New(l, Fault{Op: Create, Name: "lock", Hook: func() {
		_, err := l.Lstat("a")
		sawA = err == nil
		_ = l.Remove("a")
	}})
	w, err := f.Create("lock", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := l.Lstat("a"); !sawA || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("hook did not run before the call: saw a %v, a now %v", sawA, err)
	}
	if _, err := l.Lstat("lock"); err != nil {
		t.Fatalf("the call did not go on after the hook: %v", err)
	}
	if got := f.Calls(); len(got) != 2 || len(f.Faulted()) != 0 {
		t.Fatalf("calls: %v", got)
	}
}
