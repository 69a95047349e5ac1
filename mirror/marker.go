package mirror

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mirrorfence/mirrorfence/transport"
)

// MarkerFile is the identity marker at the root of each copy.
const MarkerFile = ".backup-id"

// Roles a copy can hold.
const (
	RoleSource = "source"
	RoleMirror = "mirror"
)

// Marker is a copy's identity: which pair it belongs to, which copy it is,
// its role, and the epoch — a fencing token raised by every role change,
// so that a copy that missed a failover can be told apart.
type Marker struct {
	Target string  `toml:"target"`
	Pair   string  `toml:"pair"`
	Copy   string  `toml:"copy"`
	Role   string  `toml:"role"`
	Epoch  int64   `toml:"epoch"`
	Synced *Synced `toml:"synced,omitempty"`
}

// Synced records, on a mirror, the last complete run into it.
type Synced struct {
	Source string    `toml:"source"` // copy id of the source it came from
	Epoch  int64     `toml:"epoch"`  // the source's epoch then
	Time   time.Time `toml:"time"`   // when that run ended
	Files  int64     `toml:"files"`  // files and links in scope after it
	Bytes  int64     `toml:"bytes"`  // bytes they hold
}

// ErrNoMarker reports a copy without an identity marker.
var ErrNoMarker = errors.New("no identity marker")

// NewID returns a fresh random identifier for a pair or a copy.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ReadMarker reads the marker of the copy fsys. A missing marker is an
// error wrapping ErrNoMarker; an unreadable or invalid one names the copy.
func ReadMarker(fsys transport.FS) (*Marker, error) {
	data, err := transport.ReadFile(fsys, MarkerFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", fsys, ErrNoMarker)
	}
	if err != nil {
		return nil, err
	}
	var m Marker
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", fsys, MarkerFile, err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", fsys, MarkerFile, err)
	}
	return &m, nil
}

func (m *Marker) validate() error {
	switch {
	case m.Target == "" || m.Pair == "" || m.Copy == "":
		return errors.New("marker lacks target, pair or copy")
	case m.Role != RoleSource && m.Role != RoleMirror:
		return fmt.Errorf("marker has role %q, want source or mirror", m.Role)
	case m.Epoch < 1:
		return fmt.Errorf("marker has epoch %d, want 1 or more", m.Epoch)
	}
	return nil
}

// WriteMarker writes m to the copy fsys atomically.
func WriteMarker(fsys transport.FS, m *Marker) error {
	var buf bytes.Buffer
	buf.WriteString("# Identity of this copy, written by backup. Do not edit or copy by hand:\n")
	buf.WriteString("# role changes are made with 'backup promote' and 'backup swap'.\n")
	if err := toml.NewEncoder(&buf).Encode(m); err != nil {
		return err
	}
	if err := transport.WriteFileAtomic(fsys, MarkerFile, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: write marker: %w", fsys, err)
	}
	return nil
}

// String summarises a marker for status lines.
func (m *Marker) String() string {
	return fmt.Sprintf("role %s, epoch %d, pair %s, copy %s", m.Role, m.Epoch, m.Pair, m.Copy)
}
