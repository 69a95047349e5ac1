package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

// dialer opens endpoints; one per command, sharing connections per host.
type dialer interface {
	Dial(ctx context.Context, ep table.Endpoint) (transport.FS, error)
	Close() error
}

type localDialer struct{}

func newDialer(c *cli.Context) dialer { return localDialer{} }

func (localDialer) Dial(_ context.Context, ep table.Endpoint) (transport.FS, error) {
	if !ep.IsLocal() {
		return nil, errors.New("remote endpoints are not supported yet")
	}
	return transport.OpenLocal(ep.Path)
}

func (localDialer) Close() error { return nil }
