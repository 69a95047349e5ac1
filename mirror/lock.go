package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mirrorfence/mirrorfence/transport"
)

// LockFile is the run lock at the root of a mirror copy.
const LockFile = ".backup-lock"

// LockInfo says who holds a lock.
type LockInfo struct {
	Host    string    `toml:"host"`
	PID     int       `toml:"pid"`
	Started time.Time `toml:"started"`
	Command string    `toml:"command"`
}

func (l *LockInfo) String() string {
	return fmt.Sprintf("%s pid %d (%s) since %s", l.Host, l.PID, l.Command, l.Started.UTC().Format(time.RFC3339))
}

// Lock is a held run lock.
type Lock struct {
	fsys     transport.FS
	Info     LockInfo
	rootTime time.Time // the root's mtime before the lock was made
}

// ReadLock returns the holder of the lock on fsys, or nil when none.
func ReadLock(fsys transport.FS) (*LockInfo, error) {
	data, err := transport.ReadFile(fsys, LockFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var info LockInfo
	if err := toml.Unmarshal(data, &info); err != nil {
		// A lock cut short while it was written: nobody can prove they
		// hold it; treat it as held since its file's time.
		info = LockInfo{Host: "?", Command: "unreadable lock"}
		if fi, err := fsys.Lstat(LockFile); err == nil {
			info.Started = fi.ModTime
		}
	}
	return &info, nil
}

// AcquireLock takes the run lock on fsys for command. A lock held by a
// live process is a Refusal naming the holder. A lock is stale, and is
// taken over with a warning returned, when its holder ran on this host and
// its process is gone, or ran elsewhere and is older than staleAfter.
func AcquireLock(fsys transport.FS, command string, staleAfter time.Duration) (*Lock, string, error) {
	host, _ := os.Hostname()
	l := &Lock{fsys: fsys, Info: LockInfo{Host: host, PID: os.Getpid(), Started: time.Now().UTC(), Command: command}}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(l.Info); err != nil {
		return nil, "", err
	}
	if fi, err := fsys.Lstat("."); err == nil {
		l.rootTime = fi.ModTime
	}
	warning := ""
	for attempt := 0; attempt < 2; attempt++ {
		// Creating it exclusively is the atomic step that makes the lock a lock.
		err := transport.CreateFile(fsys, LockFile, buf.Bytes(), 0o644)
		if err == nil {
			// The lock is no change of the copy: the plan made under it
			// must not see the root's mtime moved by it.
			if !l.rootTime.IsZero() {
				_ = fsys.Chtimes(".", l.rootTime)
			}
			return l, warning, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", fmt.Errorf("%s: lock: %w", fsys, err)
		}
		holder, err := ReadLock(fsys)
		if err != nil {
			return nil, "", err
		}
		if holder == nil {
			continue // released meanwhile
		}
		if !holder.stale(host, staleAfter) {
			return nil, "", refuse("lock-held", "wait for that run to end; if it is dead on another host, remove "+LockFile+" or wait until it is stale",
				"another run holds the lock on %s: %s", fsys, holder)
		}
		warning = fmt.Sprintf("took over the stale lock of %s", holder)
		if err := fsys.Remove(LockFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	return nil, "", refuse("lock-held", "try again", "could not take the lock on %s: another run raced for it", fsys)
}

func (l *LockInfo) stale(host string, staleAfter time.Duration) bool {
	if l.Host == host && l.PID > 0 {
		err := syscall.Kill(l.PID, 0)
		return errors.Is(err, syscall.ESRCH)
	}
	return staleAfter > 0 && time.Since(l.Started) > staleAfter
}

// Release removes the lock.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	return l.fsys.Remove(LockFile)
}

// release releases the lock of a run that ended with err, and keeps the
// lock from leaving a trace on the root's mtime: a run refused after it
// took the lock wrote nothing else, so the root gets back the mtime it had
// before; any other run keeps the mtime it left (restoreRootTime's).
func (l *Lock) release(err error) {
	if l == nil {
		return
	}
	keep := l.rootTime
	if !errors.Is(err, ErrRefused) {
		fi, lerr := l.fsys.Lstat(".")
		if lerr != nil {
			_ = l.Release()
			return
		}
		keep = fi.ModTime
	}
	if l.Release() == nil && !keep.IsZero() {
		_ = l.fsys.Chtimes(".", keep)
	}
}

// LiveHolder returns the holder of the lock on fsys when it is held and not
// stale (see AcquireLock), nil otherwise. It writes nothing: dry runs and
// check use it to say that a real run would be refused.
func LiveHolder(fsys transport.FS, staleAfter time.Duration) (*LockInfo, error) {
	holder, err := ReadLock(fsys)
	if err != nil || holder == nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if holder.stale(host, staleAfter) {
		return nil, nil
	}
	return holder, nil
}
