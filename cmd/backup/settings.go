package main

// settingsError is a mistake in backup.toml (exit 2).
type settingsError struct{ msg string }

func (e *settingsError) Error() string { return e.msg }
