package mirror

import (
	"io/fs"
	"testing"
	"time"
)

// TestManifestSpecialTypes: FIFOs, sockets and device nodes keep their
// type through the manifest's text form (they were once written as "f").
func TestManifestSpecialTypes(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	m := Manifest{}
	var order []string
	for _, mode := range []fs.FileMode{fs.ModeNamedPipe | 0o620, fs.ModeSocket | 0o755, fs.ModeDevice | fs.ModeCharDevice | 0o666, fs.ModeDevice | 0o660} {
		p := mode.Type().String()
		m[p] = ManifestEntry{Path: p, Mode: mode, ModTime: t0}
		order = append(order, p)
	}
	got, err := ParseManifest(m.Bytes(order))
	if err != nil {
		t.Fatal(err)
	}
	for p, e := range m {
		if got[p].Mode != e.Mode {
			t.Errorf("%s: mode %v after the round trip, want %v", p, got[p].Mode, e.Mode)
		}
	}
}
