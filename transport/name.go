package transport

import "strings"

// ValidName reports whether name can name an entry of an FS: "." (the
// root) or a slash-separated relative path whose elements are not empty,
// ".", ".." and hold no NUL. Elements are bytes, as Linux names are: unlike
// fs.ValidPath, names that are not UTF-8 (Latin-1 "caf\xe9") are valid, and
// so are backslashes, newlines and any other byte but '/' and NUL.
func ValidName(name string) bool {
	if name == "." {
		return true
	}
	if strings.IndexByte(name, 0) >= 0 {
		return false
	}
	for {
		elem, rest, more := strings.Cut(name, "/")
		if !ValidElem(elem) {
			return false
		}
		if !more {
			return true
		}
		name = rest
	}
}

// ValidElem reports whether elem can be one element of a name: not empty,
// ".", "..", and without '/' or NUL. A name a peer sends (a directory
// entry, a line of find's output) is believed only when it passes.
func ValidElem(elem string) bool {
	return elem != "" && elem != "." && elem != ".." && !strings.ContainsAny(elem, "/\x00")
}
