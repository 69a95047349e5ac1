package transport

// HoleWriter is a WriteFile that can leave holes: it writes at offsets, so
// that a range never written stays unallocated on file systems with sparse
// files, and sets the final size, so that a file ending in a hole has its
// length. *os.File and the SFTP writer have it.
type HoleWriter interface {
	WriteFile
	WriteAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
}
