package mirror

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
)

// remoteish is a Local the engine does not recognise as local, as an SFTP
// endpoint: it takes the delta path. lie makes its block hashes of
// temporary files wrong, to prove the check after patching.
type remoteish struct {
	*transport.Local
	lie bool
}

func (r *remoteish) HashBlocks(name string, size int64) ([]transport.Sum, error) {
	sums, err := r.Local.HashBlocks(name, size)
	if r.lie && transport.IsTemp(filepath.Base(name)) && len(sums) > 0 {
		sums[0][0] ^= 1
	}
	return sums, err
}

func TestDeltaSendsChangedBlocksOnly(t *testing.T) {
	for _, lie := range []bool{false, true} {
		src, dst := t.TempDir(), t.TempDir()
		data := make([]byte, 20<<20+12345)
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		write(t, dst, "d/db.img", string(data), t0)
		copy(data[10<<20:], bytes.Repeat([]byte{0xAB}, 5000)) // changed in place
		data = append(data, "grown"...)
		write(t, src, "d/db.img", string(data), t0.Add(time.Hour))
		s, d := openLocal(t, src), &remoteish{Local: openLocal(t, dst), lie: lie}
		p, err := MakePlan(context.Background(), s, d, Options{Dirs: []string{"d"}, Delete: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(context.Background(), p, s, d, ApplyOptions{})
		if err != nil || res.Err() != nil {
			t.Fatalf("apply: %v %v", err, res.Err())
		}
		got, err := os.ReadFile(filepath.Join(dst, "d/db.img"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("lie=%v: mirror content differs from the source (%v)", lie, err)
		}
		if !lie && res.Bytes > 3<<20 {
			t.Errorf("delta sent %d bytes for a 5000-byte change", res.Bytes)
		}
		if lie && res.Bytes != int64(len(data)) {
			t.Errorf("after a failed check the file must be copied whole: %d bytes", res.Bytes)
		}
		if tmps, _ := filepath.Glob(filepath.Join(dst, "d", ".backup-tmp-*")); len(tmps) != 0 {
			t.Errorf("temporaries left: %v", tmps)
		}
	}
}
