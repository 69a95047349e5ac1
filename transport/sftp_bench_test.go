package transport_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/sshtest"
)

// BenchmarkSFTPBigFile measures one 64 MiB file written (ReadFrom) and
// read (WriteTo) over SFTP to a local sshd.
func BenchmarkSFTPBigFile(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	s := sshtest.Start(b, "h")
	d := &transport.Dialer{SSHConfig: s.Config}
	defer d.Close()
	fsys := benchDial(b, d, b.TempDir())
	n := 0
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			n++
			w, err := fsys.Create(fmt.Sprintf("w%d", n), 0o644)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			r, err := fsys.Open("w1")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
	b.Run("hash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			if _, err := transport.HashFile(fsys, "w1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSFTPSmallFiles measures the engine's per-file sequence for a
// 4 KiB file: Create, Write, Sync, Close, Chmod, Chtimes, Rename.
func BenchmarkSFTPSmallFiles(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 4096)
	s := sshtest.Start(b, "h")
	d := &transport.Dialer{SSHConfig: s.Config}
	defer d.Close()
	fsys := benchDial(b, d, b.TempDir())
	if err := fsys.Mkdir("d", 0o755); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("d/f%d", i)
		if err := transport.WriteFileAtomic(fsys, name, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
