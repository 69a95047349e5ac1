package main

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSparseFiles: a file with holes stays sparse on the mirror — it takes
// no more disk blocks there than on the source — locally and over sshd,
// and so does a file of written zeros (rsync -S makes holes of them too);
// `sparse = false` writes the zeros. Content, modes and times are the
// source's (rsync is the oracle).
func TestSparseFiles(t *testing.T) {
	for _, mk := range []struct {
		name string
		fn   hookEndpoints
	}{{"local", localEndpoints}, {"ssh", sshEndpoints}} {
		t.Run(mk.name, func(t *testing.T) {
			w, _ := mk.fn(t)
			b := w.base()
			const size = 64 << 20
			for _, d := range []string{"detrend", "tests"} {
				must(t, os.MkdirAll(filepath.Join(b.src, d), 0o755))
			}
			holey := filepath.Join(b.src, "detrend", "disk.img")
			makeSparse(t, holey, size, []int64{0, 20 << 20, size - 4096})
			zeros := filepath.Join(b.src, "detrend", "zeros.bin")
			must(t, os.WriteFile(zeros, make([]byte, 8<<20), 0o644))
			writeFile(t, filepath.Join(b.src, "tests", "small"), "data")

			w.mustRun(0, "init", "elixir")
			w.mustRun(0, "backup", "elixir")
			b.assertSame()
			// The image as sparse as on the source; the written zeros no
			// more than the image's three data blocks' worth.
			srcImg := allocated(t, holey)
			for _, p := range []string{"detrend/disk.img", "detrend/zeros.bin"} {
				if got := allocated(t, filepath.Join(b.dst, p)); got > srcImg {
					t.Errorf("%s: %d bytes allocated on the mirror, the source's image %d: the holes were filled", p, got, srcImg)
				}
			}

			// Dense on request: the zeros are written.
			b.global = append(b.global, writeConfig(t, b, "[defaults]\nsparse = false\n")...)
			must(t, os.Remove(filepath.Join(b.dst, "detrend/zeros.bin")))
			appendTo(t, zeros, "tail") // changed on the source, so copied again
			w.mustRun(0, "backup", "elixir", "--overwrite-mirror-changes")
			b.assertSame()
			if got := allocated(t, filepath.Join(b.dst, "detrend/zeros.bin")); got < 8<<20 {
				t.Errorf("sparse = false: zeros.bin has %d bytes allocated on the mirror, want all 8 MiB written", got)
			}
		})
	}
}

// makeSparse makes a file of size bytes that holds 4 KiB of data at each
// offset and holes elsewhere.
func makeSparse(t *testing.T, p string, size int64, dataAt []int64) {
	t.Helper()
	f, err := os.Create(p)
	must(t, err)
	defer f.Close()
	must(t, f.Truncate(size))
	for _, off := range dataAt {
		_, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, 4096), off)
		must(t, err)
	}
}

// allocated returns the bytes of disk a file takes (st_blocks).
func allocated(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Lstat(p)
	must(t, err)
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString(s)
	must(t, err)
	must(t, f.Close())
}
