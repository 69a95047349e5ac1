package mirror

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDisplayNameRoundTrips: every name is shown as printable UTF-8 on
// one line, survives JSON unchanged, and ParseDisplayName gives back its
// bytes exactly.
func TestDisplayNameRoundTrips(t *testing.T) {
	for _, c := range []struct{ name, shown string }{
		{"plain/été.txt", "plain/été.txt"},
		{"caf\xe9", `caf\#351`},
		{"new\nline", `new\#012line`},
		{"tab\there", `tab\#011here`},
		{`back\slash`, `back\\slash`},
		{`\#012`, `\\#012`},
		{"del\x7f", `del\#177`},
		{"c1\u0085", `c1\#302\#205`},
		{"rtl\u202eevil", `rtl\#342\#200\#256evil`},
		{"repl\uFFFD", `repl\#357\#277\#275`},
		{"\xff\xfe", `\#377\#376`},
		{" spaces  ", " spaces  "},
		{"-x", "-x"},
	} {
		got := DisplayName(c.name)
		if got != c.shown {
			t.Errorf("DisplayName(%q) = %q, want %q", c.name, got, c.shown)
		}
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r\t") {
			t.Errorf("DisplayName(%q) = %q is not one printable UTF-8 line", c.name, got)
		}
		j, _ := json.Marshal(got)
		var back string
		if err := json.Unmarshal(j, &back); err != nil || back != got {
			t.Errorf("%q does not survive JSON: %q, %v", got, back, err)
		}
		if orig, err := ParseDisplayName(got); err != nil || orig != c.name {
			t.Errorf("ParseDisplayName(%q) = %q, %v; want %q", got, orig, err, c.name)
		}
	}
	for _, bad := range []string{`a\b`, `\#9`, `\#400`, `trailing\`} {
		if _, err := ParseDisplayName(bad); err == nil {
			t.Errorf("ParseDisplayName(%q) took a name DisplayName cannot give", bad)
		}
	}
}

// TestDifferenceJSONEscaped: check --json shows a difference's path
// escaped, never with U+FFFD in place of a byte.
func TestDifferenceJSONEscaped(t *testing.T) {
	j, err := json.Marshal(Difference{Kind: "missing", Path: "d/caf\xe9"})
	if err != nil || string(j) != `{"kind":"missing","path":"d/caf\\#351"}` {
		t.Fatalf("Difference JSON = %s, %v", j, err)
	}
}
