// Command bench measures bin/backup against rsync on the same data in one
// run: wall time, peak RSS of the client and bytes over the wire, for an
// initial copy, reruns after no or small changes, and a content check. It
// is a benchmark, not a test: it passes or fails nothing, and exits non-zero
// only when it cannot run at all. Run it with 'make bench'.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// dataFormat names the way data is generated; bump it when that changes,
// so that a reused work dir is generated again.
const dataFormat = 1

type options struct {
	backup string
	work   string
	quick  bool
	n      int
	json   string
	run    string
	helper bool
	pull   bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == launchArg {
		launchMain(os.Args[2:])
	}
	log.SetFlags(log.Ltime)
	var o options
	flag.StringVar(&o.backup, "backup", "bin/backup", "the backup binary")
	flag.StringVar(&o.work, "work", filepath.Join(os.TempDir(), "mirrorfence-bench"), "work dir; its generated data is reused by the next run")
	flag.BoolVar(&o.quick, "quick", false, "scale the data down 20x for a fast smoke run")
	flag.IntVar(&o.n, "n", 3, "repetitions per scenario and tool (the median time is reported)")
	flag.StringVar(&o.json, "json", "bench/out/results.json", "write the figures as JSON to this file")
	flag.StringVar(&o.run, "run", "", "run only the scenarios whose key matches this regexp (e.g. 'initial-A|rerun-A')")
	flag.BoolVar(&o.helper, "remote-helper", true, "put the backup binary on the remote PATH, for hashing next to the data")
	flag.BoolVar(&o.pull, "pull", false, "also run every scenario with the tool on the mirror host (source remote, mirror local)")
	flag.Parse()
	if err := benchMain(o); err != nil {
		log.Printf("cannot run: %v", err)
		os.Exit(2)
	}
}

func benchMain(o options) error {
	var err error
	if o.backup, err = filepath.Abs(o.backup); err != nil {
		return err
	}
	if _, err := os.Stat(o.backup); err != nil {
		return fmt.Errorf("%v (run 'make build')", err)
	}
	filter, err := regexp.Compile(o.run)
	if err != nil {
		return err
	}
	o.n = max(1, o.n)
	scale, size := 1, "full"
	if o.quick {
		scale, size = 20, "quick"
	}
	b := &bench{opt: o, work: filepath.Join(o.work, size), sets: specs(scale)}
	unlock, err := lockWork(b.work)
	if err != nil {
		return err
	}
	defer unlock()
	if err := b.prepareData(scale); err != nil {
		return err
	}
	b.tb = newRunTB(b.work)
	defer b.tb.Close()
	stopOnSignal(b.tb)
	if err := b.startServer(); err != nil {
		return err
	}
	if err := b.chooseLauncher(); err != nil {
		return err
	}
	log.Printf("sshd for %s at %s behind the forwarder at %s; session env: %s; launcher %s (own peak RSS %s)",
		mirrorHost, b.srv.Host(mirrorHost).Addr(), b.fwd.Addr(), b.remoteEnv, b.launcher, human(b.rssFloor<<10))
	rep := b.newReport(scale)
	for _, pull := range []bool{false, true}[:1+btoi(o.pull)] {
		tools, err := b.newTools(pull)
		if err != nil {
			return err
		}
		for _, sc := range b.scenarios(pull) {
			if !filter.MatchString(sc.key) {
				continue
			}
			log.Printf("%s (%s)", sc.title, sc.key)
			rep.Scenarios = append(rep.Scenarios, b.runScenario(sc, tools))
		}
	}
	rep.Finished, rep.LoadAvg[1] = time.Now(), loadAvg()
	rep.print(os.Stdout)
	return rep.write(o.json)
}

// prepareData generates the data sets under work/src, reusing a previous
// run's data when its stamp matches.
func (b *bench) prepareData(scale int) error {
	stamp := filepath.Join(b.work, "stamp.json")
	want, _ := json.Marshal(map[string]int{"format": dataFormat, "scale": scale})
	if got, err := os.ReadFile(stamp); err != nil || string(got) != string(want) {
		if err := os.RemoveAll(filepath.Join(b.work, "src")); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	for _, d := range b.sets {
		start := time.Now()
		n, err := prepare(b.src(d), d)
		if err != nil {
			return fmt.Errorf("generating %s: %v", d.name, err)
		}
		log.Printf("data %s: %s, %s in %d files at %s (%d written in %.1f s)",
			d.name, d.what, human(d.bytes()), len(d.files), b.src(d), n, time.Since(start).Seconds())
	}
	return os.WriteFile(stamp, want, 0o644)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lockWork takes an exclusive lock on the work dir, so that two runs do
// not change each other's data and mirrors; it returns its release.
func lockWork(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another bench run is using %s (choose another with -work): %v", dir, err)
	}
	return func() { f.Close() }, nil
}

// stopOnSignal stops sshd and removes the mirrors on SIGINT or SIGTERM.
func stopOnSignal(tb *runTB) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		log.Printf("%v: stopping", s)
		tb.Close()
		os.Exit(2)
	}()
}
