//go:build linux

package serve_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/mirrorfence/mirrorfence/transport"
	"github.com/mirrorfence/mirrorfence/transport/conformance"
	"github.com/mirrorfence/mirrorfence/transport/serve"
)

// pipeFS serves dir with Serve in this process and returns the client FS
// over two pipes; cleanup closes the client and waits for the server to
// end (a server left running fails the test).
func pipeFS(t *testing.T, dir string) transport.FS {
	t.Helper()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := serve.Serve(dir, toServer, fromServer)
		fromServer.Close()
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fsys, err := transport.NewHelperFS(ctx, "pipe:"+dir, toClient, fromClient)
	if err != nil {
		t.Fatalf("NewHelperFS: %v", err)
	}
	t.Cleanup(func() {
		fsys.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("Serve still running a minute after the client closed")
		}
	})
	return fsys
}

func TestConformancePipe(t *testing.T) {
	conformance.RunWith(t, func(t *testing.T) transport.FS {
		return pipeFS(t, t.TempDir())
	}, conformance.Options{Skip: map[string]string{
		"Run":       "a helper on a pipe runs no commands (the SSH helper's Run is checked over sshd)",
		"RunCancel": "a helper on a pipe runs no commands",
	}})
}
