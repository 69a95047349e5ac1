package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $BACKUP_CPUPROFILE when it is set,
// for measuring the tool on real data (make bench); the returned function
// stops it.
func startProfile() func() {
	path := os.Getenv("BACKUP_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
