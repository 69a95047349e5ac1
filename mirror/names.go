package mirror

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DisplayName escapes a path for plans, logs and JSON the way rsync -i
// does, so that a hostile name cannot forge lines of the output and a name
// that is not UTF-8 survives text and JSON (encoding/json would replace
// each bad byte with U+FFFD): every byte that is not part of a printable
// UTF-8 character (a byte of invalid UTF-8, a control character, DEL, an
// invisible format character such as U+202E, U+FFFD itself) becomes \#ooo,
// its value in three octal digits, and a backslash becomes \\. Everything
// else is kept. ParseDisplayName reverses it exactly.
func DisplayName(p string) string {
	return escape(p, false)
}

// escape writes each rune of s that is not printable as \#ooo per byte;
// a backslash is doubled unless lines is set, and then line breaks stay.
func escape(s string, lines bool) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && !lines:
			b.WriteString(`\\`)
		case printable(r) || lines && (r == '\\' || r == '\n'):
			b.WriteString(s[i : i+size])
		default:
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\#%03o`, c)
			}
		}
		i += size
	}
	return b.String()
}

// printable reports whether rune r of a name is shown as itself; an
// invalid byte decodes as utf8.RuneError, and is not.
func printable(r rune) bool {
	return r != utf8.RuneError && (r == ' ' || unicode.IsGraphic(r) && !unicode.Is(unicode.Cf, r))
}

func needsEscape(p string) bool {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == '\\' || !printable(r) {
			return true
		}
		i += size
	}
	return false
}

// errBadEscape reports a display name that DisplayName cannot have made.
var errBadEscape = errors.New("bad escape")

// ParseDisplayName returns the bytes of the name that DisplayName showed
// as s: \\ is a backslash, \#ooo the byte of octal value ooo.
func ParseDisplayName(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		switch rest := s[i+1:]; {
		case strings.HasPrefix(rest, `\`):
			b.WriteByte('\\')
			i++
		case len(rest) >= 4 && rest[0] == '#' && isOctal(rest[1:4]):
			b.WriteByte((rest[1]-'0')<<6 | (rest[2]-'0')<<3 | (rest[3] - '0'))
			i += 4
		default:
			return "", fmt.Errorf("%w at byte %d of %q", errBadEscape, i, s)
		}
	}
	return b.String(), nil
}

func isOctal(s string) bool {
	return s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7'
}

// DisplayLines escapes a message for the log (a refusal, the joined
// errors of a run): each byte that is not part of a printable UTF-8
// character becomes \#ooo as in DisplayName, but line breaks stay (each
// error keeps its line) and backslashes stay as they are, since messages
// quote names with %q already. Unlike DisplayName it is for people, not
// exactly reversible; plans and JSON carry names with DisplayName.
func DisplayLines(msg string) string {
	return escape(msg, true)
}
