package transport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

var _ Xattrer = (*Local)(nil)

// xattrHandle opens name under the root without following any symlink and
// without needing read permission (O_PATH), and returns the /proc path by
// which the attribute calls reach exactly that file.
func (l *Local) xattrHandle(op, name string) (*os.File, string, error) {
	if err := check(op, name); err != nil {
		return nil, "", err
	}
	f, err := l.root.OpenFile(name, unix.O_PATH|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, "", err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFDIR {
		f.Close()
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("not a regular file or directory: %w", fs.ErrInvalid)}
	}
	return f, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), nil
}

func (l *Local) Xattrs(name string) ([]Xattr, error) {
	f, proc, err := l.xattrHandle("listxattr", name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := listXattrNames(proc)
	if err != nil {
		return nil, xattrErr("listxattr", name, err)
	}
	var out []Xattr
	for _, n := range names {
		v, err := getXattr(proc, n)
		if errors.Is(err, unix.ENODATA) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, xattrErr("getxattr "+n, name, err)
		}
		out = append(out, Xattr{Name: n, Value: v})
	}
	return out, nil
}

func (l *Local) SetXattrs(name string, attrs []Xattr, want func(string) bool) error {
	f, proc, err := l.xattrHandle("setxattr", name)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := listXattrNames(proc)
	if err != nil {
		return xattrErr("listxattr", name, err)
	}
	for _, n := range have {
		keep := slices.ContainsFunc(attrs, func(a Xattr) bool { return a.Name == n })
		if !keep && want(n) {
			if err := unix.Removexattr(proc, n); err != nil && !errors.Is(err, unix.ENODATA) {
				return xattrErr("removexattr "+n, name, err)
			}
		}
	}
	for _, a := range attrs {
		if err := unix.Setxattr(proc, a.Name, a.Value, 0); err != nil {
			return xattrErr("setxattr "+a.Name, name, err)
		}
	}
	return nil
}

// listXattrNames returns the attribute names of the file at p, sorted; a
// file system without attributes has none.
func listXattrNames(p string) ([]string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Listxattr(p, buf)
		switch {
		case errors.Is(err, unix.ERANGE):
			buf = make([]byte, 2*len(buf))
			continue
		case errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case err != nil:
			return nil, err
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		slices.Sort(names)
		return names, nil
	}
}

func getXattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Getxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n:n], nil
	}
}

func xattrErr(op, name string, err error) error {
	if errors.Is(err, unix.ENOTSUP) {
		err = fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}
