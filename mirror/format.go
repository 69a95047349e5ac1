package mirror

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
)

// Flags returns the rsync-style itemize string of an action (rsync -i):
// update type, file type, then c s t p o g for checksum, size, time,
// permissions, owner and group; "+" throughout for new entries.
func (a *Action) Flags() string {
	switch a.Op {
	case OpDelete:
		return "*deleting  "
	case OpSetAside:
		return "*deleting  "
	case OpCleanup:
		return "*cleanup   "
	case OpHardlink: // rsync -H: "hf", the link's target after "=>"
		if a.Dst == nil {
			return "hf+++++++++"
		}
		return "hf........."
	}
	e := a.Src
	kind := byte('f')
	switch {
	case e.IsDir():
		kind = 'd'
	case e.IsSymlink():
		kind = 'L'
	case e.Mode&fs.ModeDevice != 0:
		kind = 'D'
	case !e.IsRegular():
		kind = 'S' // FIFO or socket, as rsync -i shows them
	}
	head := byte('>')
	switch {
	case a.Op == OpMeta:
		head = '.'
	case kind != 'f':
		head = 'c'
	}
	if a.Dst == nil || a.Why&ChangeType != 0 {
		return string([]byte{head, kind}) + "+++++++++"
	}
	b := []byte{head, kind, '.', '.', '.', '.', '.', '.', '.', '.', '.'}
	for i, c := range []Change{ChangeContent, ChangeSize, ChangeTime, ChangePerm, ChangeOwner} {
		if a.Why&c != 0 {
			b[2+i] = "cstpo"[i]
		}
	}
	if a.Why&ChangeOwner != 0 {
		b[7] = 'g'
	}
	if a.Why&ChangeXattr != 0 {
		b[10] = 'x'
	}
	return string(b)
}

// WriteItemized prints the plan one action a line, rsync -i style, then
// the warnings, the read errors and the totals.
func (p *Plan) WriteItemized(w io.Writer) error {
	ew := &errWriter{w: w}
	for i := range p.Actions {
		a := &p.Actions[i]
		name := DisplayName(a.Path)
		if (a.Src != nil && a.Src.IsDir()) || (a.Src == nil && a.Dst != nil && a.Dst.IsDir()) {
			name += "/"
		}
		if a.Op == OpSymlink {
			name += " -> " + DisplayName(a.Src.Link)
		}
		if a.Op == OpHardlink {
			name += " => " + DisplayName(a.LinkTo)
		}
		ew.printf("%s %s\n", a.Flags(), name)
	}
	for _, warn := range p.Warnings {
		ew.printf("warning: %s\n", DisplayName(warn))
	}
	for _, note := range p.Notes {
		ew.printf("note: %s\n", DisplayName(note))
	}
	for _, err := range p.SourceErrors {
		ew.printf("error: source: %s\n", DisplayName(err.Error()))
	}
	for _, err := range p.DestErrors {
		ew.printf("error: destination: %s\n", DisplayName(err.Error()))
	}
	t := p.Totals
	ew.printf("total: %d files (%s) to copy, %d dirs to create, %d links, %d metadata changes, %d deletions (%s)\n",
		t.Files, HumanBytes(t.Bytes), t.Dirs, t.Links, t.Meta, t.Deletes, HumanBytes(t.DeleteBytes))
	if t.Hardlinks > 0 {
		ew.printf("total: %d hard links to make\n", t.Hardlinks)
	}
	if len(p.SourceErrors) > 0 && t.Deletes > 0 {
		ew.printf("note: no deletion will happen because the source could not be read completely\n")
	}
	return ew.err
}

// JSONPlan is the machine-readable form of a plan (--json). Paths, link
// targets, warnings and errors are escaped with DisplayName, as in the
// itemized plan: JSON strings must be UTF-8, and a name need not be
// (ParseDisplayName gives its bytes back).
type JSONPlan struct {
	From         string       `json:"from"`
	To           string       `json:"to"`
	Dirs         []string     `json:"dirs"`
	Actions      []JSONAction `json:"actions"`
	Totals       Totals       `json:"totals"`
	Warnings     []string     `json:"warnings"`
	Notes        []string     `json:"notes,omitempty"`
	SourceErrors []string     `json:"source_errors"`
	DestErrors   []string     `json:"dest_errors"`
}

// JSONAction is one action of a JSONPlan.
type JSONAction struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Flags string `json:"flags"`
	Type  string `json:"type"` // file, dir, symlink
	Size  int64  `json:"size,omitempty"`
	Link  string `json:"link,omitempty"` // a symlink's target; a hard link's first member
}

// JSON returns the plan in its machine-readable form.
func (p *Plan) JSON() JSONPlan {
	out := JSONPlan{From: p.From, To: p.To, Dirs: displayNames(p.Options.Dirs), Totals: p.Totals,
		Actions: []JSONAction{}, Warnings: displayNames(p.Warnings), Notes: displayNames(p.Notes),
		SourceErrors: errStrings(p.SourceErrors), DestErrors: errStrings(p.DestErrors)}
	for i := range p.Actions {
		a := &p.Actions[i]
		e := a.Src
		if e == nil {
			e = a.Dst
		}
		ja := JSONAction{Op: a.Op.String(), Path: DisplayName(a.Path), Flags: a.Flags(), Type: "file"}
		if e != nil {
			switch {
			case e.IsDir():
				ja.Type = "dir"
			case e.IsSymlink():
				ja.Type, ja.Link = "symlink", DisplayName(e.Link)
			default:
				ja.Size = e.Size
			}
		}
		if a.Op == OpHardlink {
			ja.Link = DisplayName(a.LinkTo)
		}
		out.Actions = append(out.Actions, ja)
	}
	return out
}

// WriteJSON prints the plan as indented JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p.JSON())
}

// errStrings gives each error's text, escaped as DisplayName does.
func errStrings(errs []error) []string {
	out := []string{}
	for _, err := range errs {
		out = append(out, DisplayName(err.Error()))
	}
	return out
}

// displayNames escapes each string with DisplayName.
func displayNames(ss []string) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, DisplayName(s))
	}
	return out
}

// HumanBytes formats a byte count with binary units.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// errWriter keeps the first write error so printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
