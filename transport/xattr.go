package transport

import (
	"bytes"
	"slices"
)

// Xattr is one extended attribute of a file. POSIX ACLs are the attributes
// system.posix_acl_access and system.posix_acl_default.
type Xattr struct {
	Name  string
	Value []byte
}

// Xattrer is an FS that can read and set the extended attributes of a
// regular file or a directory. It never follows a symlink anywhere in a
// name; a symlink or special file at name fails with fs.ErrInvalid.
type Xattrer interface {
	// Xattrs returns the attributes of name sorted by name; none where
	// the file system has no extended attributes.
	Xattrs(name string) ([]Xattr, error)
	// SetXattrs makes the attributes of name that want accepts exactly
	// attrs (which it must all accept): those missing are removed, the
	// others set. Attributes want rejects are left as they are.
	SetXattrs(name string, attrs []Xattr, want func(name string) bool) error
}

// EqualXattrs reports whether two sorted attribute lists are the same.
func EqualXattrs(a, b []Xattr) bool {
	return slices.EqualFunc(a, b, func(x, y Xattr) bool { return x.Name == y.Name && bytes.Equal(x.Value, y.Value) })
}
