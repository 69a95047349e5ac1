package table

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNoTable is wrapped by the error Find returns when no table exists.
var ErrNoTable = errors.New("no backup table found")

// Places Find looks at after the flag and the environment.
var (
	localTable  = "backup.tab"      // in the working directory
	systemTable = "/etc/backup.tab" // a variable so tests can move it
)

// Find returns the path of the backup table to use:
//
//  1. flagValue (the --table flag), if non-empty;
//  2. $BACKUP_TAB, if set and non-empty;
//  3. backup.tab in the working directory, if it exists;
//  4. /etc/backup.tab, if it exists.
//
// The first two are returned even if missing, so that the error of Load
// names the file the user asked for. "Exists" means anything is there, even
// a dangling symlink or a file that cannot be read: Load then says why it
// cannot be read rather than another table being used silently. When none
// of the places has a table, the error wraps ErrNoTable and says which
// places were tried.
func Find(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv("BACKUP_TAB"); env != "" {
		return env, nil
	}
	for _, p := range []string{localTable, systemTable} {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: tried --table (not given), $BACKUP_TAB (not set), ./%s and %s",
		ErrNoTable, localTable, systemTable)
}
