package transport

import (
	"crypto/rand"
	"encoding/hex"
	"path"
	"strings"
)

// TempPrefix starts the base name of every temporary file the tool writes.
// Names with it are reserved in every directory of a copy: never mirrored,
// and removed by the next run when a cut run left them behind.
const TempPrefix = ".backup-tmp-"

// TempName returns a fresh temporary name in the directory of name.
func TempName(name string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	base := path.Base(name)
	if len(base) > 100 { // keep within NAME_MAX with the prefix
		base = base[:100]
	}
	return path.Join(path.Dir(name), TempPrefix+hex.EncodeToString(b[:])+"-"+base)
}

// IsTemp reports whether base is the base name of a temporary file.
func IsTemp(base string) bool { return strings.HasPrefix(base, TempPrefix) }
