package transport

import (
	"crypto/rand"
	"encoding/hex"
	"path"
	"strings"
)

// TempPrefix starts the base name of every temporary file the tool writes.
// At a copy's root such names are the tool's (every ".backup-" name is);
// inside the DIRs a name is the users' whatever it looks like, and only a
// temporary whose token a run recorded (in the journal) is taken for one.
const TempPrefix = ".backup-tmp-"

// tokenLen is the length of a temporary token in hex digits: 64 random
// bits, so that no user file matches a recorded token by chance.
const tokenLen = 16

// NewTempToken returns a fresh random token naming the temporaries of one
// run; TempNameFor puts it in each name, and TempToken reads it back.
func NewTempToken() string {
	var b [tokenLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TempNameFor returns a fresh temporary name, carrying token, in the
// directory of name: ".backup-tmp-<token>-<random>-<base>".
func TempNameFor(token, name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := path.Base(name)
	if len(base) > 100 { // keep within NAME_MAX with the prefix
		base = base[:100]
	}
	return path.Join(path.Dir(name), TempPrefix+token+"-"+hex.EncodeToString(b[:])+"-"+base)
}

// TempName returns a fresh temporary name in the directory of name, with a
// token of its own. It is for the tool's files at a copy's root, where
// every ".backup-" name is the tool's; temporaries inside the DIRs are
// named by TempNameFor with the run's recorded token.
func TempName(name string) string { return TempNameFor(NewTempToken(), name) }

// TempToken returns the token of a temporary's base name, and whether base
// has the form TempNameFor gives. Whether the token is one a run recorded
// is the caller's to check.
func TempToken(base string) (string, bool) {
	rest, ok := strings.CutPrefix(base, TempPrefix)
	if !ok || len(rest) < tokenLen+1 || rest[tokenLen] != '-' {
		return "", false
	}
	token := rest[:tokenLen]
	if _, err := hex.DecodeString(token); err != nil {
		return "", false
	}
	return token, true
}

// IsTemp reports whether base has the form of a temporary's name (at a
// copy's root, where such names are the tool's).
func IsTemp(base string) bool { return strings.HasPrefix(base, TempPrefix) }
