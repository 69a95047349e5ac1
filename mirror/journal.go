package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/mirrorfence/mirrorfence/transport"
)

// JournalFile lists, on a mirror, the paths a run is about to change. It
// is removed when the run has recorded its manifest; a cut run leaves it,
// and the next run does not take those paths for changes made outside the
// tool.
const JournalFile = ".backup-journal"

func writeJournal(fsys transport.FS, p *Plan) error {
	var b bytes.Buffer
	b.WriteString("# paths a run of backup is changing; removed when it ends\n")
	for _, a := range p.Actions {
		if a.Op == OpSetAside {
			b.WriteString("tree ") // the whole subtree moves
		}
		b.WriteString(strconv.Quote(a.Path))
		b.WriteByte('\n')
	}
	return transport.WriteFileAtomic(fsys, JournalFile, b.Bytes(), 0o644)
}

func readJournal(fsys transport.FS) ([]string, error) {
	data, err := transport.ReadFile(fsys, JournalFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var paths []string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tree := strings.HasPrefix(line, "tree ")
		p, err := strconv.Unquote(strings.TrimPrefix(line, "tree ")) // written atomically: no partial lines
		if err != nil {
			return nil, fmt.Errorf("%s/%s: line %d: %w", fsys, JournalFile, i+1, err)
		}
		if tree {
			p += "/"
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func removeJournal(fsys transport.FS) error {
	err := fsys.Remove(JournalFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// excuse drops the changes ("kind: path") that the journal planned: its
// paths, and everything below its subtree entries (those ending in "/").
func excuse(changes, journal []string) []string {
	if len(journal) == 0 {
		return changes
	}
	planned := make(map[string]bool, len(journal))
	for _, j := range journal {
		planned[j] = true
	}
	var out []string
	for _, c := range changes {
		_, p, _ := strings.Cut(c, ": ")
		excused := planned[p] || planned[p+"/"]
		for q := parent(p); !excused && q != "."; q = parent(q) {
			excused = planned[q+"/"]
		}
		if !excused {
			out = append(out, c)
		}
	}
	return out
}
