package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfence/mirrorfence/mirror"
)

// progressInterval is how often the progress line is redrawn.
var progressInterval = 250 * time.Millisecond

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// showProgress says whether to draw progress on stderr: --progress and
// --no-progress decide; without them, only when stderr is a terminal (in
// cron it is not, and nothing is drawn).
func (e *env) showProgress() bool {
	switch {
	case e.c.Bool("no-progress"):
		return false
	case e.c.Bool("progress"):
		return true
	}
	return isTerminal(e.stderr)
}

// startProgress draws p on stderr until the returned stop is called, when
// progress is to be shown: one line, redrawn in place, with the phase
// (comparing content, copying), files and bytes done of the total, the
// rate and the time left. stop draws the last state and ends the line.
func (e *env) startProgress(p *mirror.Progress) (stop func()) {
	if p == nil || !e.showProgress() {
		return func() {}
	}
	d := &progressDisplay{w: e.stderr, p: p, began: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go d.loop()
	return func() {
		close(d.stop)
		<-d.done
	}
}

type progressDisplay struct {
	w          io.Writer
	p          *mirror.Progress
	began      time.Time
	stop, done chan struct{}
	phase      string
	phaseStart time.Time
	drawn      bool
}

func (d *progressDisplay) loop() {
	defer close(d.done)
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.draw(time.Now())
		case <-d.stop:
			d.draw(time.Now())
			if d.drawn {
				fmt.Fprint(d.w, "\n")
			}
			return
		}
	}
}

func (d *progressDisplay) draw(now time.Time) {
	line := d.line(now)
	if line == "" {
		return
	}
	fmt.Fprintf(d.w, "\r%s\x1b[K", line)
	d.drawn = true
}

// line renders the current state; "" while there is nothing to show yet.
func (d *progressDisplay) line(now time.Time) string {
	p := d.p
	var phase string
	var files, bytes, totalFiles, totalBytes int64
	switch {
	case p.Copying.Load():
		phase = "copying"
		files, bytes, totalFiles, totalBytes = p.Files.Load(), p.Bytes.Load(), p.TotalFiles.Load(), p.TotalBytes.Load()
	case p.HashTotalFiles.Load() > 0:
		phase = "comparing"
		files, bytes, totalFiles, totalBytes = p.HashFiles.Load(), p.HashBytes.Load(), p.HashTotalFiles.Load(), p.HashTotalBytes.Load()
	default:
		if now.Sub(d.began) < time.Second {
			return ""
		}
		return fmt.Sprintf("scanning the trees (%s)", now.Sub(d.began).Round(time.Second))
	}
	if phase != d.phase {
		d.phase, d.phaseStart = phase, now
	}
	elapsed := now.Sub(d.phaseStart)
	if elapsed == 0 {
		elapsed = now.Sub(d.began) // a phase seen first at its end: the average since the start
	}
	return progressLine(phase, files, bytes, totalFiles, totalBytes, elapsed)
}

// progressLine formats one state: "copying: 12/340 files, 1.2 MiB/45 MiB,
// 3.4 MiB/s, ETA 13s".
func progressLine(phase string, files, bytes, totalFiles, totalBytes int64, elapsed time.Duration) string {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(bytes) / elapsed.Seconds()
	}
	eta := "--"
	switch {
	case bytes >= totalBytes && files >= totalFiles:
		eta = "0s"
	case rate > 0:
		eta = time.Duration(float64(totalBytes-bytes) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%s: %d/%d files, %s/%s, %s/s, ETA %s", phase, files, totalFiles,
		mirror.HumanBytes(bytes), mirror.HumanBytes(totalBytes), mirror.HumanBytes(int64(rate)), eta)
}
