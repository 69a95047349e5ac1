package table

import "testing"

// TestExampleSettings: the commented example at the repository root parses
// and sets what it shows.
func TestExampleSettings(t *testing.T) {
	s, err := LoadSettings("../backup.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckTargets([]string{"elixir"}); err != nil {
		t.Fatal(err)
	}
	if s.For("elixir").Window == nil || *s.For("elixir").Before == "" {
		t.Fatal("example lacks the elixir hooks")
	}
}
