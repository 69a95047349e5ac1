package main

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// blockSize is the unit of generated content: every block of every file
// comes from its own PRNG stream, so any block can be rewritten alone.
const blockSize = 1 << 20

// baseTime is the mtime of the first generated file; the others follow a
// minute apart, so that a regenerated file gets its old mtime back.
var baseTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fileSpec is one generated file.
type fileSpec struct {
	rel   string // slash-separated, relative to the data set's root
	size  int64
	seed  uint64
	mtime time.Time
}

// dataset is one tree of generated files (A, B or C).
type dataset struct {
	name  string // "A", "B", "C"
	what  string // one-line description for the report
	files []fileSpec
	dirs  []string // every directory below the root, parents first
}

func (d *dataset) bytes() int64 {
	var n int64
	for _, f := range d.files {
		n += f.size
	}
	return n
}

// specs returns the data sets A, B and C, each scaled down by scale (1 or
// 20 for -quick).
func specs(scale int) []*dataset {
	return []*dataset{specA(scale), specB(scale), specC(scale)}
}

// specA: 20,000 files of 1–16 KiB in ~500 directories.
func specA(scale int) *dataset {
	n, leaves := 20000/scale, 500/scale
	top := max(1, leaves/25)
	d := &dataset{name: "A"}
	var leafDirs []string
	for i := range top {
		t := fmt.Sprintf("d%02d", i)
		d.dirs = append(d.dirs, t)
		for j := range leaves / top {
			leaf := fmt.Sprintf("%s/s%02d", t, j)
			d.dirs = append(d.dirs, leaf)
			leafDirs = append(leafDirs, leaf)
		}
	}
	r := rand.New(rand.NewPCG(0xA, 1))
	for i := range n {
		d.files = append(d.files, fileSpec{
			rel:  fmt.Sprintf("%s/f%05d.dat", leafDirs[i%len(leafDirs)], i),
			size: 1024 + r.Int64N(15*1024+1),
		})
	}
	d.what = fmt.Sprintf("%d files of 1-16 KiB in %d dirs", n, len(d.dirs))
	return d.finish(0xA)
}

// specB: ~1 GiB in 2,000 files of 1 KiB–64 MiB, sizes log-skewed: most
// files small, a few large ones holding most of the bytes.
func specB(scale int) *dataset {
	n, total := 2000/scale, int64(1<<30)/int64(scale)
	lo, hi := 1024.0, float64(64<<20)/float64(scale)
	r := rand.New(rand.NewPCG(0xB, 1))
	u := make([]float64, n)
	for i := range u {
		u[i] = r.Float64()
	}
	u[0] = 1 // one file of the maximum size
	sizes := func(p float64) ([]int64, int64) {
		s, sum := make([]int64, n), int64(0)
		for i, x := range u {
			s[i] = int64(math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*math.Pow(x, p)))
			sum += s[i]
		}
		return s, sum
	}
	pLo, pHi := 1.0, 50.0 // the sum falls as p grows; bisect for the total
	for range 60 {
		if _, sum := sizes((pLo + pHi) / 2); sum > total {
			pLo = (pLo + pHi) / 2
		} else {
			pHi = (pLo + pHi) / 2
		}
	}
	s, _ := sizes(pHi)
	d := &dataset{name: "B"}
	nd := max(1, n/50)
	for i := range nd {
		d.dirs = append(d.dirs, fmt.Sprintf("g%02d", i))
	}
	for i := range n {
		d.files = append(d.files, fileSpec{rel: fmt.Sprintf("g%02d/b%04d.bin", i%nd, i), size: s[i]})
	}
	d.what = fmt.Sprintf("%d files of 1 KiB-%s, skewed", n, human(int64(hi)))
	return d.finish(0xB)
}

// specC: one file of 1 GiB.
func specC(scale int) *dataset {
	d := &dataset{name: "C", files: []fileSpec{{rel: "big.dat", size: int64(1<<30) / int64(scale)}}}
	d.what = "one file"
	return d.finish(0xC)
}

func (d *dataset) finish(seed uint64) *dataset {
	for i := range d.files {
		d.files[i].seed = seed<<32 | uint64(i)
		d.files[i].mtime = baseTime.Add(time.Duration(i) * time.Minute)
	}
	return d
}

// block fills buf with block k of the content of seed in version v
// (version 0 is the original, later ones are modifications).
func block(buf []byte, seed uint64, k int64, v int) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(k))
	binary.LittleEndian.PutUint64(key[16:], uint64(v))
	copy(key[24:], "mfbench!")
	_, _ = rand.NewChaCha8(key).Read(buf)
}

// writeRange writes [off, off+n) of the content of f in version v into w,
// which must be open for writing at f's path.
func writeRange(w *os.File, f fileSpec, off, n int64, v int) error {
	buf := make([]byte, min(blockSize, off%blockSize+n))
	for n > 0 {
		k := off / blockSize
		in := off - k*blockSize
		m := min(n, blockSize-in)
		block(buf[:in+m], f.seed, k, v) // a prefix of the block's stream
		if _, err := w.WriteAt(buf[in:in+m], off); err != nil {
			return err
		}
		off, n = off+m, n-m
	}
	return nil
}

// writeFile (re)creates f under root with version v of its content and
// mtime mt.
func writeFile(root string, f fileSpec, v int, mt time.Time) error {
	p := filepath.Join(root, filepath.FromSlash(f.rel))
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = writeRange(w, f, 0, f.size, v)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chtimes(p, mt, mt)
}

// prepare makes root hold exactly the data set d, reusing what is there:
// files whose size or mtime differ from the spec are written again, files
// not in the spec are removed (except the tool's own .backup-* names at
// the root), and directory mtimes are reset. It returns how many files it
// wrote.
func prepare(root string, d *dataset) (int, error) {
	want := map[string]bool{}
	for _, f := range d.files {
		want[f.rel] = true
	}
	if err := removeExtra(root, want); err != nil {
		return 0, err
	}
	for _, dir := range d.dirs {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return 0, err
		}
	}
	wrote := 0
	for _, f := range d.files {
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f.rel)))
		if err == nil && fi.Mode().IsRegular() && fi.Size() == f.size && fi.ModTime().Equal(f.mtime) {
			continue
		}
		if err := writeFile(root, f, 0, f.mtime); err != nil {
			return wrote, err
		}
		wrote++
	}
	return wrote, resetDirTimes(root, d)
}

func removeExtra(root string, want map[string]bool) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if !strings.Contains(rel, "/") && strings.HasPrefix(rel, ".backup-") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || want[rel] {
			return nil
		}
		return os.Remove(p)
	})
}

// resetDirTimes gives every directory of d, and the root, the base mtime.
func resetDirTimes(root string, d *dataset) error {
	dirs := slices.Clone(d.dirs)
	slices.Reverse(dirs)
	for _, dir := range append(dirs, ".") {
		if err := os.Chtimes(filepath.Join(root, dir), baseTime, baseTime); err != nil {
			return err
		}
	}
	return nil
}

// human formats a byte count with a binary unit, as backup prints them.
func human(n int64) string { return mirror.HumanBytes(n) }
