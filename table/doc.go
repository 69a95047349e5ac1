// Package table reads and writes backup.tab, the table of backup targets.
//
// A table is a list of TARGET blocks:
//
//	# /data/elixir
//	TARGET  elixir
//	        SOURCE  uhane:/local/data/elixir
//	        MIRROR  mamane:/local/data/mamane/elixir.mirror
//	        DIR     detrend
//	        DIR     tests
//
// Each line holds one keyword and one value, separated by blanks (spaces and
// tabs). Keywords (TARGET, SOURCE, MIRROR, DIR) are case-insensitive, ASCII
// letters only. '#' starts a comment anywhere on a line, so no value can hold
// a '#' or a blank. Leading blanks do not matter and blank lines are fine.
// Lines end in "\n" or "\r\n"; each keeps its own ending when written back.
// SOURCE, MIRROR and DIR belong to the TARGET above them.
//
//   - TARGET name: [A-Za-z0-9][A-Za-z0-9._-]*, unique in the table even
//     without regard to case (so that "Elixir" and "elixir" are never two
//     targets). Lookup matches names exactly.
//   - SOURCE and MIRROR: exactly one of each per target, an endpoint as
//     ParseEndpoint reads it.
//   - DIR: a path relative to both roots, cleaned with path.Clean ("./a/"
//     is "a"); it must not be absolute, be the root itself ("."), climb out
//     with "..", or name the tool's own files (".backup-*"). No DIR may
//     repeat another or lie inside another of the same target ("a" and
//     "a/b"): the inner one would be copied twice. None means the whole root.
//
// Targets may not write over each other. Within a target, SOURCE and MIRROR
// must not be the same place or lie one inside the other (same host after
// local names are resolved, and same or nested cleaned paths). Across
// targets, no two roots (SOURCE or MIRROR) may be the same place, since a
// root holds the identity marker of one target, and no root may lie inside
// what another target's runs write and delete: its MIRROR root, or
// MIRROR/DIR for each of its DIRs. Roots may otherwise nest: a MIRROR inside
// another target's SOURCE is fine (a partition may hold the mirror of
// another one and be backed up itself). Host aliases that reach the same
// machine under different names cannot be detected here; the copies'
// identity markers catch those.
//
// Everything that is wrong is reported, each problem as a *ParseError
// "file:line: message": unknown keywords, keywords before any TARGET,
// missing or extra values, duplicates, missing SOURCE or MIRROR (at the
// TARGET line), bad endpoints and DIRs, overlaps (at the later line), NUL
// bytes anywhere, and control characters or invalid UTF-8 in any value.
// Comments may hold any text but NUL.
//
// A Table remembers its text line by line: Bytes reproduces an unchanged
// table byte for byte, SwapRoles exchanges SOURCE and MIRROR by swapping the
// two value texts only, and WriteFile replaces the file atomically.
package table
