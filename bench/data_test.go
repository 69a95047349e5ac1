package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSpecs checks the shapes the issue asks for.
func TestSpecs(t *testing.T) {
	for _, scale := range []int{1, 20} {
		a, b, c := specs(scale)[0], specs(scale)[1], specs(scale)[2]
		if len(a.files) != 20000/scale || len(b.files) != 2000/scale || len(c.files) != 1 {
			t.Fatalf("scale %d: %d, %d, %d files", scale, len(a.files), len(b.files), len(c.files))
		}
		for _, f := range a.files {
			if f.size < 1024 || f.size > 16<<10 {
				t.Fatalf("A: %s has %d bytes", f.rel, f.size)
			}
		}
		var most int64
		for _, f := range b.files {
			if f.size < 1024 || f.size > (64<<20)/int64(scale) {
				t.Fatalf("B: %s has %d bytes", f.rel, f.size)
			}
			most = max(most, f.size)
		}
		want := float64(1<<30) / float64(scale)
		if got := float64(b.bytes()); got < 0.99*want || got > 1.01*want || most < (63<<20)/int64(scale) {
			t.Fatalf("B (scale %d): %d bytes, largest %d", scale, b.bytes(), most)
		}
	}
}

// TestWriteRange checks that content is the same however it is written, so
// that a rewritten range matches a whole write.
func TestWriteRange(t *testing.T) {
	dir := t.TempDir()
	f := fileSpec{rel: "x", size: 3*blockSize + 12345, seed: 7}
	whole := filepath.Join(dir, "whole")
	w, err := os.Create(whole)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeRange(w, f, 0, f.size, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	parts, err := os.Create(filepath.Join(dir, "parts"))
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < f.size; off += 1000003 {
		if err := writeRange(parts, f, off, min(1000003, f.size-off), 0); err != nil {
			t.Fatal(err)
		}
	}
	parts.Close()
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(parts.Name())
	if !bytes.Equal(a, b) || int64(len(a)) != f.size {
		t.Fatalf("content differs by the way it is written (%d, %d bytes)", len(a), len(b))
	}
}
