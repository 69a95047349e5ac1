package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// run is one timed run of a tool.
type run struct {
	Seconds   float64 `json:"seconds"`      // wall time
	MaxRSSKiB int64   `json:"max_rss_kib"`  // client peak RSS
	WireBytes int64   `json:"wire_bytes"`   // both directions
	Exit      int     `json:"exit"`         // exit code
	User      float64 `json:"user_seconds"` // client CPU time, with the children it waited for
	Sys       float64 `json:"sys_seconds"`
}

// launchArg, as the first argument, makes the bench binary a launcher
// that runs the command after it: see launchMain.
const launchArg = "-launch-measured"

// gnuTime is GNU time, the preferred launcher: see measure.
const gnuTime = "/usr/bin/time"

// measure runs cmd and returns its wall time, its peak RSS, the bytes the
// forwarder relayed meanwhile, and its output (at most 64 KiB of it). The
// page cache is flushed first, untimed, so that one tool's dirty pages do
// not slow down the next.
//
// The peak RSS is the Maxrss of wait4's rusage, which covers the process
// and the children it waited for (rsync's ssh). Linux counts in it the RSS
// of the process that forked the command, so the command is started from a
// small launcher rather than from the bench, whose RSS would hide a small
// client's: GNU time when installed (about 1 MiB), else this binary (about
// 6 MiB); report.RSSFloorKiB holds the launcher's own figure.
func (b *bench) measure(cmd *exec.Cmd) (run, string, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return run{}, "", err
	}
	defer pr.Close()
	args := append([]string{launchArg, cmd.Path}, cmd.Args[1:]...)
	if b.launcher == gnuTime {
		args = append([]string{"-f", `{"max_rss_kib":%M,"exit":%x,"user_seconds":%U,"sys_seconds":%S}`, "-o", "/dev/fd/3", "--", cmd.Path}, cmd.Args[1:]...)
	}
	l := exec.Command(b.launcher, args...)
	out := &capped{max: 64 << 10}
	l.Stdout, l.Stderr, l.ExtraFiles = out, out, []*os.File{pw}
	syscall.Sync()
	b.fwd.waitIdle(10 * time.Second)
	before := b.fwd.total()
	start := time.Now()
	err = l.Start()
	pw.Close()
	if err != nil {
		return run{}, "", err
	}
	rep, _ := io.ReadAll(pr)
	werr := l.Wait()
	wall := time.Since(start).Seconds()
	b.fwd.waitIdle(10 * time.Second)
	r := run{Seconds: wall, Exit: -1}
	if err := json.Unmarshal(lastLine(rep), &r); err != nil {
		return r, out.String(), fmt.Errorf("%s: %v (%v)\n%s", b.launcher, err, werr, tail(out.String(), 10))
	}
	r.WireBytes = b.fwd.total() - before
	return r, out.String(), nil
}

// lastLine returns the last non-empty line of b (GNU time writes a note
// on an exit status other than 0 before its format).
func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}

// chooseLauncher picks the launcher and measures its own peak RSS: the
// floor under every RSS figure.
func (b *bench) chooseLauncher() error {
	if exec.Command(gnuTime, "-f", "%M", "-o", "/dev/null", "true").Run() == nil {
		b.launcher = gnuTime
	} else {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		b.launcher = self
	}
	r, _, err := b.measure(exec.Command("/bin/true"))
	b.rssFloor = r.MaxRSSKiB
	return err
}

// launchMain runs the command args and writes its peak RSS and exit code
// as JSON to file descriptor 3, as GNU time does with measure's format.
func launchMain(args []string) {
	syscall.CloseOnExec(3)
	report := os.NewFile(3, "report")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	err := cmd.Run()
	r := run{Exit: -1}
	if cmd.ProcessState != nil {
		r.Exit = cmd.ProcessState.ExitCode()
		r.User, r.Sys = cmd.ProcessState.UserTime().Seconds(), cmd.ProcessState.SystemTime().Seconds()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSSKiB = ru.Maxrss
		}
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	_ = json.NewEncoder(report).Encode(r)
	os.Exit(0)
}

// capped keeps the first max bytes written to it.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }

// stats is the summary of a tool's runs of one scenario.
type stats struct {
	Runs          []run   `json:"runs"`
	MedianSeconds float64 `json:"median_seconds"`
	PeakRSSKiB    int64   `json:"peak_rss_kib"`
	WireBytes     int64   `json:"wire_bytes"` // median over the runs
}

func summarize(runs []run) stats {
	s := stats{Runs: runs}
	var secs []float64
	var wire []int64
	for _, r := range runs {
		secs = append(secs, r.Seconds)
		wire = append(wire, r.WireBytes)
		s.PeakRSSKiB = max(s.PeakRSSKiB, r.MaxRSSKiB)
	}
	s.MedianSeconds = median(secs)
	s.WireBytes = int64(median(wire))
	return s
}

func median[T int64 | float64](xs []T) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return (float64(s[n/2-1]) + float64(s[n/2])) / 2
}

// tail returns the last n lines of s, for error reports.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
