package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/mirrorfence/mirrorfence/transport"
)

// JournalFile records, on the copy a run writes to, what the run is about
// to do there: the tokens of its temporary names and the paths it changes.
// It is written before the first write and removed when the run has ended
// complete; a cut run leaves it, and the next run removes exactly the
// temporaries it names (never a user's file that merely looks like one)
// and does not take its paths for changes made outside the tool.
const JournalFile = ".backup-journal"

// journal is the content of JournalFile.
type journal struct {
	Temps TempTokens // tokens of the runs whose temporaries may be left
	Paths []string   // paths changed; a subtree as "dir/"
}

// extend returns j with the token and the paths of plan p added: a run
// after a cut one keeps the cut run's records until it ends complete.
func (j journal) extend(token string, p *Plan) journal {
	out := journal{Temps: TempTokens{token: true}, Paths: slices.Clone(j.Paths)}
	for t := range j.Temps {
		out.Temps[t] = true
	}
	for i := range p.Actions {
		out.Paths = append(out.Paths, journalPath(&p.Actions[i]))
	}
	return out
}

// journalPath is how the journal names what action a changes: a set-aside
// moves a whole subtree ("dir/").
func journalPath(a *Action) string {
	if a.Op == OpSetAside {
		return a.Path + "/"
	}
	return a.Path
}

// empty reports whether j records nothing: no journal.
func (j journal) empty() bool { return len(j.Temps) == 0 && len(j.Paths) == 0 }

func (j journal) bytes() []byte {
	var b bytes.Buffer
	b.WriteString("# what a run of backup is changing here; removed when it ends\n")
	tokens := make([]string, 0, len(j.Temps))
	for t := range j.Temps {
		tokens = append(tokens, t)
	}
	slices.Sort(tokens)
	for _, t := range tokens {
		fmt.Fprintf(&b, "temps %s\n", t)
	}
	for _, p := range j.Paths {
		if dir, ok := strings.CutSuffix(p, "/"); ok {
			fmt.Fprintf(&b, "tree %s\n", strconv.Quote(dir))
		} else {
			fmt.Fprintf(&b, "%s\n", strconv.Quote(p))
		}
	}
	return b.Bytes()
}

func writeJournal(fsys transport.FS, j journal) error {
	return transport.WriteFileAtomic(fsys, JournalFile, j.bytes(), 0o644)
}

// readJournal reads the journal of fsys; none gives an empty journal.
func readJournal(fsys transport.FS) (journal, error) {
	j := journal{Temps: TempTokens{}}
	data, err := transport.ReadFile(fsys, JournalFile)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return j, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		if err := j.parseLine(line); err != nil {
			return j, fmt.Errorf("%s/%s: line %d: %w", fsys, JournalFile, i+1, err)
		}
	}
	return j, nil
}

func (j *journal) parseLine(line string) error {
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	if token, ok := strings.CutPrefix(line, "temps "); ok {
		if _, valid := transport.TempToken(transport.TempPrefix + token + "-"); !valid {
			return fmt.Errorf("bad temporary token %q", token)
		}
		j.Temps[token] = true
		return nil
	}
	tree := strings.HasPrefix(line, "tree ")
	p, err := strconv.Unquote(strings.TrimPrefix(line, "tree ")) // written atomically: no partial lines
	if err != nil {
		return err
	}
	if tree {
		p += "/"
	}
	j.Paths = append(j.Paths, p)
	return nil
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
