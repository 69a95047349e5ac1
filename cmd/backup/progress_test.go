package main

import (
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		phase                                string
		files, bytes, totalFiles, totalBytes int64
		elapsed                              time.Duration
		want                                 string
	}{
		{"copying", 0, 0, 10, 1 << 20, 0, "copying: 0/10 files, 0 B/1.0 MiB, 0 B/s, ETA --"},
		{"copying", 5, 512 << 10, 10, 1 << 20, time.Second, "copying: 5/10 files, 512.0 KiB/1.0 MiB, 512.0 KiB/s, ETA 1s"},
		{"copying", 1, 10 << 20, 4, 100 << 20, 2 * time.Second, "copying: 1/4 files, 10.0 MiB/100.0 MiB, 5.0 MiB/s, ETA 18s"},
		{"comparing", 3, 300, 3, 300, time.Second, "comparing: 3/3 files, 300 B/300 B, 300 B/s, ETA 0s"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.phase, tt.files, tt.bytes, tt.totalFiles, tt.totalBytes, tt.elapsed); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
