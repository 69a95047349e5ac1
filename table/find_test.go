package table

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	type setup struct {
		flag, env     string
		local, system bool // create ./backup.tab, the system table
		danglingLocal bool // ./backup.tab is a dangling symlink
		want, wantErr string
		wantSystem    bool // want the system table's path
	}
	const errNone = "no backup table found: tried --table (not given), $BACKUP_TAB (not set), ./backup.tab and "
	tests := []struct {
		name string
		s    setup
	}{
		{"flag wins", setup{flag: "my.tab", env: "env.tab", local: true, system: true, want: "my.tab"}},
		{"flag even if missing", setup{flag: "/nowhere/my.tab", want: "/nowhere/my.tab"}},
		{"env next", setup{env: "env.tab", local: true, system: true, want: "env.tab"}},
		{"env even if missing", setup{env: "/nowhere/env.tab", want: "/nowhere/env.tab"}},
		{"local next", setup{local: true, system: true, want: "backup.tab"}},
		{"dangling local counts", setup{danglingLocal: true, system: true, want: "backup.tab"}},
		{"system last", setup{system: true, wantSystem: true}},
		{"none", setup{wantErr: errNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			dir := t.TempDir()
			t.Chdir(dir)
			t.Setenv("BACKUP_TAB", s.env)
			defer func(old string) { systemTable = old }(systemTable)
			systemTable = filepath.Join(dir, "etc", "backup.tab")
			if s.local {
				touch(t, "backup.tab")
			}
			if s.danglingLocal {
				if err := os.Symlink("gone.tab", "backup.tab"); err != nil {
					t.Fatal(err)
				}
			}
			if s.system {
				if err := os.Mkdir(filepath.Dir(systemTable), 0o755); err != nil {
					t.Fatal(err)
				}
				touch(t, systemTable)
			}
			want := s.want
			if s.wantSystem {
				want = systemTable
			}
			got, err := Find(s.flag)
			if s.wantErr != "" {
				if got != "" || !errors.Is(err, ErrNoTable) || err.Error() != s.wantErr+systemTable {
					t.Errorf("Find = %q, %v; want error %s%s", got, err, s.wantErr, systemTable)
				}
				return
			}
			if err != nil || got != want {
				t.Errorf("Find(%q) = %q, %v; want %q", s.flag, got, err, want)
			}
		})
	}
}

func TestFindSystemDefault(t *testing.T) {
	if systemTable != "/etc/backup.tab" {
		t.Errorf("system table = %q, want /etc/backup.tab", systemTable)
	}
}

func touch(t *testing.T, file string) {
	t.Helper()
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
