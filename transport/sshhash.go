package transport

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"syscall"
)

// emptySum is the BLAKE3 of nothing; the probe checks a remote hasher
// against it.
const emptySum = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"

// probeScript prints "hash=b3sum" or "hash=backup" for the first remote
// hasher that hashes /dev/null right, "find=gnu" when find has -printf,
// and "touch=h" when touch can set a symlink's own time (-h, -d @seconds).
const probeScript = `if command -v b3sum >/dev/null 2>&1 && [ "$(b3sum --no-names /dev/null 2>/dev/null </dev/null)" = ` + emptySum + ` ]; then echo hash=b3sum; ` +
	`elif command -v backup >/dev/null 2>&1 && [ "$(backup hash -- /dev/null 2>/dev/null </dev/null | cut -c1-64)" = ` + emptySum + ` ]; then echo hash=backup; fi; ` +
	`[ "$(find /dev/null -maxdepth 0 -printf gnu 2>/dev/null </dev/null)" = gnu ] && echo find=gnu; ` +
	`touch -h -c -d @1.5 -- /nonexistent/mirrorfence-probe 2>/dev/null </dev/null && echo touch=h; true`

// remoteHashMin is the size from which a file is hashed on the host; a
// smaller one is read through SFTP, which costs about as many round trips
// as starting a remote command. A variable for tests.
var remoteHashMin int64 = 1 << 20

// batchHashFloor is the batch size from which every file of the batch is
// hashed on the host, whatever its size.
const batchHashFloor = 16

// maxHashArgs bounds the bytes of quoted names on one command line.
const maxHashArgs = 64 << 10

// probe finds out, once per connection, which helpers the remote host
// has (see probeScript). A failed probe means none.
func (c *sshConn) probe() {
	c.probeOnce.Do(func() {
		out, err := c.output(probeScript)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
			switch {
			case k == "hash" && (v == "b3sum" || v == "backup"):
				c.tool = v
			case k == "find" && v == "gnu":
				c.gnuFind = true
			case k == "touch" && v == "h":
				c.touchH = true
			}
		}
	})
}

// hashTool returns the remote hasher: "b3sum", "backup" or "" (none; files
// are then read through SFTP).
func (c *sshConn) hashTool() string {
	c.probe()
	return c.tool
}

// HashFile returns the BLAKE3 sum of regular file name, computed on the
// host when it has b3sum (or this tool) and the file is large, else read
// through SFTP.
func (f *sftpFS) HashFile(name string) (Sum, error) {
	s, err := f.HashFiles([]string{name})
	if err != nil {
		return Sum{}, err
	}
	return s[0], nil
}

// HashFiles implements BatchHasher: large files go to the remote hasher in
// batches (one command per up to 64 KiB of names), small ones and those the
// remote hasher could not do are read through SFTP, several at a time.
// Every name must be a regular file; its path is checked like Open's.
func (f *sftpFS) HashFiles(names []string) ([]Sum, error) {
	sums := make([]Sum, len(names))
	sizes, err := f.hashPrep(names)
	if err != nil {
		return nil, err
	}
	var remote, local []int
	tool := ""
	// In a batch the command's start is shared by many files: then small
	// files are hashed on the host too, instead of read through SFTP.
	floor := remoteHashMin
	if len(names) >= batchHashFloor {
		floor = 0
	}
	for i := range names {
		if sizes[i] >= floor {
			if tool == "" {
				tool = f.c.hashTool()
			}
			if tool != "" {
				remote = append(remote, i)
				continue
			}
		}
		local = append(local, i)
	}
	for len(remote) > 0 {
		n := batchLen(names, remote)
		missed, err := f.hashRemote(tool, names, remote[:n], sums)
		if err != nil {
			return nil, err
		}
		local = append(local, missed...)
		remote = remote[n:]
	}
	return sums, f.hashLocal(names, local, sums)
}

// forEach runs fn(i) for every i in idx, eight at a time, and returns the
// error of the lowest index that failed.
func forEach(idx []int, fn func(i int) error) error {
	errs := make([]error, len(idx))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[k] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hashPrep checks every name (valid, path without symlinks, a regular file)
// and returns the sizes.
func (f *sftpFS) hashPrep(names []string) ([]int64, error) {
	sizes := make([]int64, len(names))
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	err := forEach(idx, func(i int) error {
		fi, err := f.Lstat(names[i])
		switch {
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return &fs.PathError{Op: "hash", Path: names[i], Err: err}
		case fi.IsSymlink():
			return &fs.PathError{Op: "hash", Path: names[i], Err: syscall.ELOOP}
		case fi.IsDir():
			return &fs.PathError{Op: "hash", Path: names[i], Err: syscall.EISDIR}
		case !fi.IsRegular():
			return &fs.PathError{Op: "hash", Path: names[i], Err: fs.ErrInvalid}
		}
		sizes[i] = fi.Size
		return nil
	})
	return sizes, err
}

// hashLocal reads the files idx through SFTP and hashes them here.
func (f *sftpFS) hashLocal(names []string, idx []int, sums []Sum) error {
	return forEach(idx, func(i int) error {
		r, err := f.Open(names[i])
		if err != nil {
			return err
		}
		defer r.Close()
		s, _, err := HashReader(r)
		if err != nil {
			return err
		}
		sums[i] = s
		return nil
	})
}

// batchLen returns how many of idx fit on one command line.
func batchLen(names []string, idx []int) int {
	total := 0
	for k, i := range idx {
		total += len(names[i]) + 8
		if k > 0 && total > maxHashArgs {
			return k
		}
	}
	return len(idx)
}

// hashRemote hashes the files idx with the remote tool and returns those it
// gave no sum for (it failed on them, or their names did not survive the
// tool's output), to be read through SFTP.
func (f *sftpFS) hashRemote(tool string, names []string, idx []int, sums []Sum) ([]int, error) {
	var b strings.Builder
	b.WriteString("cd -- " + shellQuote(f.root) + " && exec ")
	if tool == "backup" {
		b.WriteString("backup hash --")
	} else {
		b.WriteString("b3sum --")
	}
	for _, i := range idx {
		b.WriteString(" " + shellQuote("./"+names[i]))
	}
	b.WriteString(" </dev/null")
	out, err := f.c.output(b.String())
	if err != nil && !f.c.alive() {
		return nil, f.pathErr("hash", names[idx[0]], err)
	}
	got := parseSumLines(out)
	var missed []int
	k := 0
	for _, i := range idx {
		if k < len(got) && got[k].name == "./"+names[i] {
			sums[i] = got[k].sum
			k++
			continue
		}
		missed = append(missed, i)
	}
	return missed, nil
}

type sumLine struct {
	sum  Sum
	name string
}

// parseSumLines parses b3sum's output: "<hex>  <name>", a line starting
// with a backslash having "\\", "\n" and "\r" escaped in the name. Lines
// that do not parse are skipped.
func parseSumLines(out []byte) []sumLine {
	var lines []sumLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		escaped := strings.HasPrefix(line, `\`)
		if escaped {
			line = line[1:]
		}
		hexs, name, ok := strings.Cut(line, "  ")
		if !ok {
			continue
		}
		s, err := ParseSum(hexs)
		if err != nil {
			continue
		}
		if escaped {
			name = unescapeName(name)
		}
		lines = append(lines, sumLine{s, name})
	}
	return lines
}

func unescapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
