package mirror

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/zeebo/blake3"
)

// TestCopySparse: the copy has the content and size of the input, its
// hash is the content's, and only its data blocks are allocated.
func TestCopySparse(t *testing.T) {
	data := bytes.Repeat([]byte{7}, holeBlock)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	zeros := func(n int) []byte { return make([]byte, n) }
	for _, tc := range []struct {
		name     string
		in       []byte
		maxAlloc int64 // bytes allocated at most
	}{
		{"empty", nil, 0},
		{"all zeros, ends in a hole", zeros(3 * sparseChunk), 0},
		{"data only", cat(data, data, data), 3 * holeBlock},
		{"hole between data", cat(data, zeros(sparseChunk), data), 2 * holeBlock},
		{"zero run shorter than a block is data", cat(data, zeros(100), data[:holeBlock-100], data), 3 * holeBlock},
		{"short last block", cat(zeros(holeBlock), data[:10]), holeBlock},
		{"data across chunks", cat(zeros(sparseChunk-holeBlock), data, data, zeros(sparseChunk)), 2 * holeBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			h := blake3.New()
			n, err := copySparse(f, bytes.NewReader(tc.in), h)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, _ := os.ReadFile(p)
			if n != int64(len(tc.in)) || !bytes.Equal(got, tc.in) {
				t.Fatalf("copied %d bytes, file of %d, want %d and the same content", n, len(got), len(tc.in))
			}
			if want := blake3.Sum256(tc.in); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("hash is not the content's")
			}
			fi, _ := os.Stat(p)
			// Some file systems allocate ahead; a hole left is what counts.
			if alloc := fi.Sys().(*syscall.Stat_t).Blocks * 512; alloc > tc.maxAlloc+holeBlock {
				t.Errorf("%d bytes allocated, want at most %d", alloc, tc.maxAlloc)
			}
		})
	}
}
