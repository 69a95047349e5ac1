package transport

import (
	"fmt"
	"io/fs"
	"strconv"
	"time"
)

// symlinkTimes sets the time of symlink name (its path already checked)
// with "touch -h" on the host; nil without it.
func (f *sftpFS) symlinkTimes(name string, mtime time.Time) error {
	if f.c.probe(); !f.c.touchH {
		return nil
	}
	stamp := fmt.Sprintf("@%d.%09d", mtime.Unix(), mtime.Nanosecond())
	if mtime.Unix() < 0 {
		stamp = "@" + strconv.FormatInt(mtime.Unix(), 10)
	}
	return f.remoteMeta("chtimes", name, "touch -h -c -d "+stamp)
}

// symlinkOwner sets the owner of symlink name with "chown -h" on the host.
func (f *sftpFS) symlinkOwner(name string, uid, gid int) error {
	if uid < 0 && gid < 0 {
		return nil
	}
	owner := ""
	if uid >= 0 {
		owner = strconv.Itoa(uid)
	}
	if gid >= 0 {
		owner += ":" + strconv.Itoa(gid)
	}
	err := f.remoteMeta("lchown", name, "chown -h "+owner)
	if err != nil && f.c.alive() {
		return &fs.PathError{Op: "lchown", Path: name, Err: fmt.Errorf("%w: %v", ErrNotSupported, err)}
	}
	return err
}

// remoteMeta runs "command -- ./name" in the root on the host.
func (f *sftpFS) remoteMeta(op, name, command string) error {
	line := "cd -- " + shellQuote(f.root) + " && exec " + command + " -- " + shellQuote("./"+name) + " </dev/null"
	if _, err := f.c.output(line); err != nil {
		return f.pathErr(op, name, err)
	}
	return nil
}
