package main

import (
	"context"

	"github.com/mirrorfence/mirrorfence/table"
	"github.com/mirrorfence/mirrorfence/transport"
)

// dialer opens endpoints; one per command, sharing one SSH connection per
// host among everything the command opens there.
type dialer interface {
	Dial(ctx context.Context, ep table.Endpoint) (transport.FS, error)
	Close() error
}

// newDialer returns the dialer of a command: the [ssh] table of the
// settings, overridden by --ssh-config and --known-hosts when given.
func (e *env) newDialer() (dialer, error) {
	s, err := e.loadSettings()
	if err != nil {
		return nil, err
	}
	d := &transport.Dialer{}
	if p := s.SSH.Config; p != nil {
		d.SSHConfig = *p
	}
	if p := s.SSH.KnownHosts; p != nil {
		d.KnownHosts = *p
	}
	if p := s.SSH.ConnectTimeout; p != nil {
		d.ConnectTimeout = *p
	}
	if p := s.SSH.KeepAlive; p != nil {
		d.KeepAlive = *p
		if *p == 0 {
			d.KeepAlive = -1 // "0s": no keepalives
		}
	}
	if e.c.IsSet("ssh-config") {
		d.SSHConfig = e.c.String("ssh-config")
	}
	if e.c.IsSet("known-hosts") {
		d.KnownHosts = e.c.String("known-hosts")
	}
	return d, nil
}
