package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

// dialer opens endpoints; one per command, sharing one SSH connection per
// host among everything the command opens there.
type dialer interface {
	Dial(ctx context.Context, ep table.Endpoint) (transport.FS, error)
	Close() error
}

func newDialer(c *cli.Context) dialer {
	return &transport.Dialer{
		SSHConfig:  c.String("ssh-config"),
		KnownHosts: c.String("known-hosts"),
	}
}
