package table

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const goodSettings = `# backup.toml
[defaults]
hook_timeout    = "5m"
trash_retention = "168h"
max_delete      = "50%"
lock_stale      = "24h"
workers         = 8
checksum        = false

[targets.elixir]
before = "srvmsg -c -n desksrv freeze 20"
after  = "srvmsg -c -n desksrv unfreeze"
window = "20s"
max_delete = 100
checksum = true

[targets.accurev]
before = "/opt/accurev/bin/accurev backup mark"
hook_timeout = "1m"

[ssh]
config          = "ssh_config"
known_hosts     = "/etc/backup/known_hosts"
connect_timeout = "10s"
keepalive       = "0s"
`

func TestParseSettingsGood(t *testing.T) {
	s, err := ParseSettings("/etc/mf/backup.toml", []byte(goodSettings))
	if err != nil {
		t.Fatal(err)
	}
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	dur := func(p *time.Duration) string {
		if p == nil {
			return "<nil>"
		}
		return p.String()
	}
	elixir, accurev, other := s.For("elixir"), s.For("accurev"), s.For("other")
	tests := []struct {
		name, got, want string
	}{
		{"elixir before", str(elixir.Before), "srvmsg -c -n desksrv freeze 20"},
		{"elixir after", str(elixir.After), "srvmsg -c -n desksrv unfreeze"},
		{"elixir window", dur(elixir.Window), "20s"},
		{"elixir hook_timeout from defaults", dur(elixir.HookTimeout), "5m0s"},
		{"elixir max_delete overrides", str(elixir.MaxDelete), "100"},
		{"elixir checksum overrides", boolText(elixir.Checksum), "true"},
		{"elixir workers from defaults", intText(elixir.Workers), "8"},
		{"elixir trash_retention", dur(elixir.TrashRetention), "168h0m0s"},
		{"elixir lock_stale", dur(elixir.LockStale), "24h0m0s"},
		{"accurev before", str(accurev.Before), "/opt/accurev/bin/accurev backup mark"},
		{"accurev after unset", str(accurev.After), "<nil>"},
		{"accurev window unset", dur(accurev.Window), "<nil>"},
		{"accurev hook_timeout overrides", dur(accurev.HookTimeout), "1m0s"},
		{"accurev max_delete from defaults", str(accurev.MaxDelete), "50%"},
		{"accurev checksum from defaults", boolText(accurev.Checksum), "false"},
		{"unknown target gets defaults", dur(other.HookTimeout), "5m0s"},
		{"unknown target no hook", str(other.Before), "<nil>"},
		{"ssh config relative to the file", str(s.SSH.Config), "/etc/mf/ssh_config"},
		{"ssh known_hosts", str(s.SSH.KnownHosts), "/etc/backup/known_hosts"},
		{"ssh connect_timeout", dur(s.SSH.ConnectTimeout), "10s"},
		{"ssh keepalive zero allowed", dur(s.SSH.KeepAlive), "0s"},
		{"file", s.File, "/etc/mf/backup.toml"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if err := s.CheckTargets([]string{"elixir", "accurev", "x"}); err != nil {
		t.Errorf("CheckTargets with every name: %v", err)
	}
}

func boolText(p *bool) string {
	if p == nil {
		return "<nil>"
	}
	if *p {
		return "true"
	}
	return "false"
}

func intText(p *int) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.Itoa(*p)
}

func TestParseSettingsErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // one "line: key: message part" per error, in order
	}{
		{"unknown key in defaults", "[defaults]\nworkers = 4\nbefor = \"x\"\n",
			[]string{"f.toml:3: defaults.befor: unknown key"}},
		{"unknown key in a target", "[targets.elixir]\n\n\nwindw = \"20s\"\n",
			[]string{"f.toml:4: targets.elixir.windw: unknown key"}},
		{"unknown table", "# c\n[default]\nworkers = 4\n",
			[]string{"f.toml:2: default: unknown table or key"}},
		{"unknown ssh key", "[ssh]\nport = 22\n",
			[]string{"f.toml:2: ssh.port: unknown key"}},
		{"window as integer", "[targets.elixir]\nwindow = 20\n",
			[]string{`f.toml:2: targets.elixir.window: want a duration string like "20s" or "5m", got an integer`}},
		{"bad duration", "[defaults]\nhook_timeout = \"5 minutes\"\n",
			[]string{`f.toml:2: defaults.hook_timeout: "5 minutes" is not a duration`}},
		{"zero timeout", "[defaults]\nhook_timeout = \"0s\"\n",
			[]string{`f.toml:2: defaults.hook_timeout: "0s": want a duration above zero`}},
		{"negative window", "[defaults]\nwindow = \"-1s\"\n",
			[]string{`f.toml:2: defaults.window: "-1s": want a duration above zero`}},
		{"checksum as string", "[defaults]\nchecksum = \"yes\"\n",
			[]string{"f.toml:2: defaults.checksum: want true or false, got a string"}},
		{"sparse as number", "[targets.elixir]\nsparse = 0\n",
			[]string{"f.toml:2: targets.elixir.sparse: want true or false, got an integer"}},
		{"workers as string", "[defaults]\nworkers = \"8\"\n",
			[]string{"f.toml:2: defaults.workers: want a whole number from 1 to 1024, got a string"}},
		{"workers zero", "[defaults]\nworkers = 0\n",
			[]string{"f.toml:2: defaults.workers: want a whole number from 1 to 1024, got 0"}},
		{"max_delete over 100%", "[defaults]\nmax_delete = \"150%\"\n",
			[]string{`f.toml:2: defaults.max_delete: "150%": want a count`}},
		{"max_delete negative", "[defaults]\nmax_delete = -3\n",
			[]string{`f.toml:2: defaults.max_delete: "-3": want a count`}},
		{"max_delete float", "[defaults]\nmax_delete = 0.5\n",
			[]string{`f.toml:2: defaults.max_delete: want a count (100) or a share ("50%"), got a float`}},
		{"before as array", "[targets.a]\nbefore = [\"x\"]\n",
			[]string{"f.toml:2: targets.a.before: want a shell command (a string), got an array"}},
		{"defaults not a table", "defaults = 3\n",
			[]string{"f.toml:1: defaults: want a table, got an integer"}},
		{"target not a table", "[targets]\nelixir = \"x\"\n",
			[]string{"f.toml:2: targets.elixir: want a table, got a string"}},
		{"syntax error", "[defaults]\nworkers = = 3\n",
			[]string{"f.toml:2: "}},
		{"duplicate key", "[defaults]\nworkers = 3\nworkers = 4\n",
			[]string{"f.toml:3: "}},
		{"several, in line order", "[targets.b]\nwindow = 1\n[defaults]\nzzz = 1\naaa = 2\n",
			[]string{"f.toml:2: targets.b.window:", "f.toml:4: defaults.zzz:", "f.toml:5: defaults.aaa:"}},
		{"dotted key located", "[targets]\nelixir.window = 5\n",
			[]string{"f.toml:2: targets.elixir.window: want a duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSettings("f.toml", []byte(tt.text))
			if err == nil {
				t.Fatalf("no error; parsed %+v", s)
			}
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("%v is not a *SettingsError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d: got %q, want it to start with %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestCheckTargets(t *testing.T) {
	s, err := ParseSettings("f.toml", []byte("[defaults]\nworkers = 2\n\n[targets.elixr]\nwindow = \"5s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckTargets([]string{"elixir", "accurev"})
	want := "f.toml:4: targets.elixr: no such target in the table (targets: elixir, accurev)"
	if err == nil || err.Error() != want {
		t.Fatalf("CheckTargets: got %v, want %q", err, want)
	}
}

func TestFindAndLoadSettings(t *testing.T) {
	tests := []struct {
		name          string
		flag, env     string
		local, system bool
		want          string // "" = none; "SYSTEM" = the system file
	}{
		{"flag wins", "my.toml", "env.toml", true, true, "my.toml"},
		{"env next", "", "env.toml", true, true, "env.toml"},
		{"local next", "", "", true, true, "backup.toml"},
		{"system last", "", "", false, true, "SYSTEM"},
		{"none is fine", "", "", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			t.Setenv("BACKUP_CONFIG", tt.env)
			defer func(old string) { systemSettings = old }(systemSettings)
			systemSettings = filepath.Join(dir, "etc-backup.toml")
			if tt.local {
				writeSettings(t, "backup.toml", "[defaults]\nworkers = 3\n")
			}
			if tt.system {
				writeSettings(t, systemSettings, "[defaults]\nworkers = 4\n")
			}
			want := tt.want
			if want == "SYSTEM" {
				want = systemSettings
			}
			got := FindSettings(tt.flag)
			if got != want {
				t.Fatalf("FindSettings: got %q, want %q", got, want)
			}
			s, err := LoadSettings(got)
			switch {
			case tt.flag != "" || tt.env != "":
				var se *SettingsError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), "no such file") || se.File != got {
					t.Fatalf("a missing named file: got %v, want a *SettingsError naming %s", err, got)
				}
			case err != nil:
				t.Fatal(err)
			case want == "" && (s.File != "" || s.Defaults.Workers != nil || len(s.Targets) != 0):
				t.Fatalf("no file: got settings %+v", s)
			case want != "" && (s.File != want || s.Defaults.Workers == nil):
				t.Fatalf("loaded %+v from %s", s, want)
			}
		})
	}
}

func writeSettings(t *testing.T, p, text string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
