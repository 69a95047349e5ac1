package table

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Parse parses the text of a backup table; file names it in errors and is
// kept as Table.File. See the package documentation for the format.
//
// Parse reports every problem it finds, not just the first: the error is an
// errors.Join of *ParseError values in line order, each printed as
// "file:line: message". On error the table is nil.
func Parse(file string, data []byte) (*Table, error) {
	text := string(data)
	p := &parser{file: file, names: map[string]nameDef{}}
	lines := splitLines(text)
	for i, ln := range lines {
		p.line(i+1, ln)
	}
	p.endTarget()
	p.checkTargets()
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *ParseError) int { return cmp.Compare(a.Line, b.Line) })
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	t := &Table{File: file, lines: lines, roles: map[string]*roleRefs{}, orig: text}
	for _, b := range p.blocks {
		t.Targets = append(t.Targets, b.t)
		t.roles[b.t.Name] = &roleRefs{source: b.source.ref, mirror: b.mirror.ref}
	}
	return t, nil
}

// splitLines cuts text into lines, each keeping its line ending; joined they
// are text again.
func splitLines(text string) []string {
	var lines []string
	for text != "" {
		i := strings.IndexByte(text, '\n') + 1
		if i == 0 {
			i = len(text)
		}
		lines = append(lines, text[:i])
		text = text[i:]
	}
	return lines
}

// parser holds the state of one Parse.
type parser struct {
	file   string
	errs   []*ParseError
	names  map[string]nameDef // lower-cased target name → first definition
	blocks []*block           // targets with a good, unique name, in order
	cur    *block             // the TARGET block being read, nil before the first
}

// nameDef is where a target name was first defined.
type nameDef struct {
	name string
	line int
}

// block is one TARGET and the lines that belong to it.
type block struct {
	t              *Target
	source, mirror *role // nil until the keyword is seen
	dirLines       []int // line of each of t.Dirs
}

// role is a SOURCE or MIRROR line.
type role struct {
	kw   string // SOURCE or MIRROR
	line int    // from 1
	ok   bool
	ep   Endpoint
	ref  valueRef
}

// token is a blank-separated word of a line and its byte offset.
type token struct {
	text  string
	start int
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// line parses line n (from 1), raw with its line ending.
func (p *parser) line(n int, raw string) {
	content := strings.TrimSuffix(strings.TrimSuffix(raw, "\n"), "\r")
	code, comment, _ := strings.Cut(content, "#")
	if strings.IndexByte(comment, 0) >= 0 {
		p.errorf(n, "NUL byte in comment")
	}
	toks := fields(code)
	if len(toks) == 0 {
		return
	}
	kw, args := toks[0], toks[1:]
	switch upperASCII(kw.text) {
	case "TARGET":
		p.target(n, args)
	case "SOURCE":
		p.role(n, "SOURCE", args)
	case "MIRROR":
		p.role(n, "MIRROR", args)
	case "DIR":
		p.dir(n, args)
	default:
		p.errorf(n, "unknown keyword %q (want TARGET, SOURCE, MIRROR or DIR)", kw.text)
	}
}

// fields splits s at runs of blanks (spaces and tabs).
func fields(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		toks = append(toks, token{s[i:j], i})
		i = j
	}
	return toks
}

// upperASCII upper-cases ASCII letters only, so that no Unicode folding
// ("ſource", "K" as Kelvin sign) makes a keyword.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// value returns the one value a keyword takes, reporting a missing value,
// extra words and text no value may hold.
func (p *parser) value(n int, kw, what string, args []token) (token, bool) {
	switch {
	case len(args) == 0:
		p.errorf(n, "%s needs %s", kw, what)
		return token{}, false
	case len(args) > 1:
		extra := make([]string, len(args)-1)
		for i, a := range args[1:] {
			extra[i] = fmt.Sprintf("%q", a.text)
		}
		p.errorf(n, "%s takes one value; extra words %s (a comment starts with #)", kw, strings.Join(extra, " "))
		return token{}, false
	}
	if err := checkText(args[0].text); err != nil {
		p.errorf(n, "%s %q: %v", kw, args[0].text, err)
		return token{}, false
	}
	return args[0], true
}

// target starts a new TARGET block at line n.
func (p *parser) target(n int, args []token) {
	p.endTarget()
	b := &block{t: &Target{Line: n}}
	p.cur = b
	tok, ok := p.value(n, "TARGET", "a name", args)
	if !ok {
		return
	}
	name := tok.text
	b.t.Name = name
	if !validName(name) || !isAlnum(name[0]) {
		p.errorf(n, "bad target name %q (want letters, digits, '.', '_' or '-', starting with a letter or digit)", name)
		return
	}
	key := strings.ToLower(name)
	if first, dup := p.names[key]; dup {
		if first.name == name {
			p.errorf(n, "duplicate target %q (first defined at line %d)", name, first.line)
		} else {
			p.errorf(n, "duplicate target %q: %q is defined at line %d (names must differ in more than case)", name, first.name, first.line)
		}
		return
	}
	p.names[key] = nameDef{name, n}
}

// role reads a SOURCE or MIRROR line.
func (p *parser) role(n int, kw string, args []token) {
	if p.cur == nil {
		p.errorf(n, "%s before any TARGET", kw)
		return
	}
	slot := &p.cur.source
	if kw == "MIRROR" {
		slot = &p.cur.mirror
	}
	if *slot != nil {
		p.errorf(n, "%s given twice (first at line %d)", kw, (*slot).line)
		return
	}
	r := &role{kw: kw, line: n}
	*slot = r
	tok, ok := p.value(n, kw, "an endpoint (host:/path, user@host:/path or /path)", args)
	if !ok {
		return
	}
	ep, err := parseEndpoint(tok.text)
	if err != nil {
		p.errorf(n, "%s %q: %v", kw, tok.text, err)
		return
	}
	r.ok, r.ep = true, ep
	r.ref = valueRef{line: n - 1, start: tok.start, end: tok.start + len(tok.text)}
}

// dir reads a DIR line.
func (p *parser) dir(n int, args []token) {
	if p.cur == nil {
		p.errorf(n, "DIR before any TARGET")
		return
	}
	tok, ok := p.value(n, "DIR", "a path relative to the roots", args)
	if !ok {
		return
	}
	d, msg := cleanDir(tok.text)
	if msg != "" {
		p.errorf(n, "DIR %q %s", tok.text, msg)
		return
	}
	b := p.cur
	for i, e := range b.t.Dirs {
		switch {
		case d == e:
			p.errorf(n, "duplicate DIR %q (first at line %d)", d, b.dirLines[i])
			return
		case strings.HasPrefix(d, e+"/"):
			p.errorf(n, "DIR %q is inside DIR %q (line %d): it would be copied twice", d, e, b.dirLines[i])
			return
		case strings.HasPrefix(e, d+"/"):
			p.errorf(n, "DIR %q contains DIR %q (line %d): it would be copied twice", d, e, b.dirLines[i])
			return
		}
	}
	b.t.Dirs = append(b.t.Dirs, d)
	b.dirLines = append(b.dirLines, n)
}
