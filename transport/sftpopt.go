package transport

import (
	"time"
)

// BatchHasher is an FS that hashes many files in one request next to the
// data (an SFTP FS whose host has b3sum or this tool).
type BatchHasher interface {
	// HashFiles returns the sums of the regular files names, in the order
	// of names. It fails with the *fs.PathError of the first name that
	// could not be hashed (missing, not a regular file, unreadable).
	HashFiles(names []string) ([]Sum, error)
}

// HashFiles returns the sums of the regular files names, in order, in one
// batch when fsys is a BatchHasher, else file by file with HashFile.
func HashFiles(fsys FS, names []string) ([]Sum, error) {
	if b, ok := fsys.(BatchHasher); ok {
		return b.HashFiles(names)
	}
	out := make([]Sum, len(names))
	for i, n := range names {
		s, err := HashFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// TimePrecisioner is an FS whose modification times are coarser than a
// nanosecond: an SFTP FS keeps whole seconds.
type TimePrecisioner interface {
	TimePrecision() time.Duration
}

// TimePrecision returns the granularity of fsys's modification times: what
// Chtimes keeps and Lstat reports. Compare times of two FSes at the coarser
// of their precisions (time.Time.Truncate).
func TimePrecision(fsys FS) time.Duration {
	if p, ok := fsys.(TimePrecisioner); ok {
		return p.TimePrecision()
	}
	return time.Nanosecond
}
