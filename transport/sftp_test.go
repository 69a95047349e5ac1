package transport_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/conformance"
	"github.com/mirrorfence/mirrorfence/transport/sshtest"
	"github.com/zeebo/blake3"
)

// TestMain lets the test binary stand in for b3sum on the test hosts: a
// symlink named b3sum to it, on the sessions' PATH, makes it hash files.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "b3sum" {
		os.Exit(fakeB3sum(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeB3sum implements what the transport uses of b3sum: [--no-names]
// [--] files..., printing "<hex>  <name>" with b3sum's escaping.
func fakeB3sum(args []string) int {
	noNames, status := false, 0
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		args = args[1:]
		if a == "--" {
			break
		}
		if a == "--no-names" {
			noNames = true
		}
	}
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "b3sum:", err)
			status = 1
			continue
		}
		h := blake3.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "b3sum:", err)
			status = 1
			continue
		}
		sum := fmt.Sprintf("%x", h.Sum(nil))
		switch {
		case noNames:
			fmt.Println(sum)
		case strings.ContainsAny(name, "\\\n\r"):
			r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
			fmt.Printf("\\%s  %s\n", sum, r.Replace(name))
		default:
			fmt.Printf("%s  %s\n", sum, name)
		}
	}
	return status
}

// fakeB3sumDir returns a directory holding "b3sum", a symlink to the test
// binary, for Dialer.RemotePath.
func fakeB3sumDir(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "b3sum")); err != nil {
		t.Fatal(err)
	}
	return bin
}

func newDialer(t *testing.T, s *sshtest.Server) *transport.Dialer {
	d := &transport.Dialer{SSHConfig: s.Config}
	t.Cleanup(func() { d.Close() })
	return d
}

func dial(t *testing.T, d *transport.Dialer, host, dir string) transport.FS {
	t.Helper()
	fsys, err := d.Dial(context.Background(), table.Endpoint{Host: host, Path: dir})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func TestSFTPConformance(t *testing.T) {
	for _, b3 := range []bool{false, true} {
		t.Run(fmt.Sprintf("b3sum=%v", b3), func(t *testing.T) {
			s := sshtest.Start(t, "mamane")
			d := newDialer(t, s)
			if b3 {
				d.RemotePath = fakeB3sumDir(t)
			}
			conformance.Run(t, func(t *testing.T) transport.FS {
				return dial(t, d, "mamane", t.TempDir())
			})
		})
	}
}

func benchDial(b *testing.B, d *transport.Dialer, dir string) transport.FS {
	fsys, err := d.Dial(context.Background(), table.Endpoint{Host: "h", Path: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fsys.Close() })
	return fsys
}
