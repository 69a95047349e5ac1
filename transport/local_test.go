package transport_test

import (
	"testing"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/conformance"
)

func TestLocalConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) transport.FS {
		l, err := transport.OpenLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}
