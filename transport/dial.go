package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mirrorfence/mirrorfence/table"
)

// Dialer opens the FS of an endpoint: a Local one for this machine, an SFTP
// one over SSH for another host. It reads ~/.ssh/config the way ssh does
// (Host patterns, HostName, Port, User, IdentityFile, IdentitiesOnly,
// IdentityAgent, UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias,
// HashKnownHosts, StrictHostKeyChecking, ConnectTimeout,
// ServerAliveInterval, ServerAliveCountMax), offers the keys of ssh-agent
// and of the identity files, and always verifies the host key against
// known_hosts: StrictHostKeyChecking "accept-new" adds the key of a host
// known_hosts does not mention yet; "no", "off" and "ask" are treated as
// "yes" — an unknown or changed key is always refused.
//
// All FSes of one login (user@host:port) share one SSH connection, opened by
// the first Dial and closed when the last FS is closed. A keepalive
// (keepalive@openssh.com) every KeepAlive turns a dead peer into errors
// wrapping ErrConnLost instead of a hang. A lost connection is not
// reopened under existing FSes; the next Dial opens a new one.
//
// The zero Dialer is ready to use; its fields must not change after the
// first Dial. Its methods are safe for concurrent use.
type Dialer struct {
	SSHConfig      string        // ssh_config path; "" = ~/.ssh/config and /etc/ssh/ssh_config (missing is fine)
	KnownHosts     string        // known_hosts file overriding UserKnownHostsFile; "" = from the config, else ~/.ssh/known_hosts
	ConnectTimeout time.Duration // TCP connect plus SSH handshake; 0 = ConnectTimeout of the config, else 15s
	KeepAlive      time.Duration // keepalive interval; 0 = ServerAliveInterval of the config, else 15s; <0 = none
	KeepAliveMax   int           // unanswered keepalive intervals before the connection counts as lost; 0 = ServerAliveCountMax, else 3
	// RemotePath holds directories (colon-separated) put before PATH for
	// the commands run on remote hosts: b3sum or this tool for hashing, and
	// Run. Non-interactive SSH sessions get a short PATH; b3sum installed
	// in ~/.cargo/bin, say, needs "~/.cargo/bin" here ("~" is the remote
	// home). "" leaves PATH alone.
	RemotePath string
	// Helper says whether remote endpoints are served by "backup serve"
	// on the host (confined to the root by the host's kernel) or by its
	// SFTP server; "" is HelperNever for now.
	Helper HelperMode
	// HelperCommand is the helper's command on remote hosts ("~/" is the
	// remote home); "" = "backup" on the remote PATH.
	HelperCommand string

	cfgOnce sync.Once
	cfg     *sshConfigs
	cfgErr  error

	mu     sync.Mutex
	conns  map[string]*connSlot
	closed bool
}

// connSlot holds the connection to one login, or the dial under way.
type connSlot struct {
	ready chan struct{} // closed when c or err is set
	c     *sshConn
	err   error
}

// ErrDialerClosed is returned by Dial after Close.
var ErrDialerClosed = errors.New("transport: dialer closed")

// ErrConnect reports that no SSH connection could be made: the host did not
// answer in time, refused the connection, or broke off the handshake.
var ErrConnect = errors.New("cannot connect")

// DialError is the error of a Dial that failed to set up the connection. It
// matches its Kind (ErrConnect, ErrHostKey or ErrAuth) and its cause with
// errors.Is and errors.As.
type DialError struct {
	Endpoint string // the endpoint, e.g. "mamane:/local/data/mamane"
	Addr     string // the address dialed, host:port
	Kind     error  // ErrConnect, ErrHostKey or ErrAuth
	Err      error  // the cause
}

func (e *DialError) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.Endpoint, e.Addr, e.Err)
}

// Unwrap returns the Kind and the cause.
func (e *DialError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Dial opens the FS of ep: OpenLocal(ep.Path) for a local endpoint (ep.User
// is then ignored), else an SFTP FS rooted at ep.Path on ep.Host. ctx bounds
// the connection set-up only. The root must exist and be a directory; a
// missing root gives an error wrapping fs.ErrNotExist. Errors of the
// connection set-up are *DialError.
func (d *Dialer) Dial(ctx context.Context, ep table.Endpoint) (FS, error) {
	if ep.IsLocal() {
		l, err := OpenLocal(ep.Path)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	hc, err := d.resolve(ep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	// A shared connection may have broken before its watcher noticed: the
	// first use then fails with ErrConnLost; it is marked dead and one new
	// connection is tried.
	for attempt := 0; ; attempt++ {
		c, err := d.acquire(ctx, hc, ep.String())
		if err != nil {
			return nil, err
		}
		f, err := d.open(ctx, c, ep)
		if err == nil {
			return f, nil
		}
		if errors.Is(err, ErrConnLost) {
			c.fail(err)
		}
		d.release(c)
		if attempt > 0 || !errors.Is(err, ErrConnLost) {
			return nil, err
		}
	}
}

// HelperMode says whether remote endpoints are served by the helper.
type HelperMode string

const (
	HelperAuto    HelperMode = "auto"    // the helper where it runs, else SFTP
	HelperNever   HelperMode = "never"   // always SFTP
	HelperRequire HelperMode = "require" // the helper, or the Dial fails
)

// open opens ep's FS on c: the helper or SFTP, as d.Helper says.
func (d *Dialer) open(ctx context.Context, c *sshConn, ep table.Endpoint) (FS, error) {
	if d.Helper == HelperAuto || d.Helper == HelperRequire {
		command := d.HelperCommand
		if command == "" {
			command = "backup"
		}
		h, err := newHelperFS(ctx, d, c, ep, command)
		if err == nil {
			return h, nil
		}
		if d.Helper == HelperRequire || !errors.Is(err, ErrNoHelper) {
			return nil, err
		}
	}
	return newSFTPFS(ctx, d, c, ep)
}

// resolve applies the ssh_config and the Dialer's fields to ep.
func (d *Dialer) resolve(ep table.Endpoint) (*hostConfig, error) {
	d.cfgOnce.Do(func() { d.cfg, d.cfgErr = loadSSHConfig(d.SSHConfig) })
	if d.cfgErr != nil {
		return nil, d.cfgErr
	}
	hc, err := d.cfg.resolve(ep.Host, ep.User)
	if err != nil {
		return nil, err
	}
	if d.KnownHosts != "" {
		hc.KnownHosts = []string{d.KnownHosts}
	}
	switch {
	case d.ConnectTimeout > 0:
		hc.ConnectTimeout = d.ConnectTimeout
	case hc.ConnectTimeout <= 0:
		hc.ConnectTimeout = 15 * time.Second
	}
	switch {
	case d.KeepAlive != 0:
		hc.AliveInterval = d.KeepAlive
	case hc.AliveInterval == 0:
		hc.AliveInterval = 15 * time.Second
	}
	if d.KeepAliveMax > 0 {
		hc.AliveCountMax = d.KeepAliveMax
	}
	return hc, nil
}

// acquire returns the shared connection for hc's login, dialing it when
// there is none (one dial at a time per login; concurrent callers wait for
// it and share its result). The caller owns one reference.
func (d *Dialer) acquire(ctx context.Context, hc *hostConfig, label string) (*sshConn, error) {
	key := hc.User + "@" + net.JoinHostPort(hc.HostName, hc.Port)
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, ErrDialerClosed
		}
		if d.conns == nil {
			d.conns = map[string]*connSlot{}
		}
		s := d.conns[key]
		if s == nil {
			s = &connSlot{ready: make(chan struct{})}
			d.conns[key] = s
			d.mu.Unlock()
			return d.dialSlot(ctx, s, key, hc, label)
		}
		d.mu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		d.mu.Lock()
		if s.err != nil {
			d.mu.Unlock()
			return nil, s.err
		}
		if s.c.alive() && d.conns[key] == s {
			s.c.refs++
			d.mu.Unlock()
			return s.c, nil
		}
		if d.conns[key] == s {
			delete(d.conns, key) // dead: dial anew
		}
		d.mu.Unlock()
	}
}

func (d *Dialer) dialSlot(ctx context.Context, s *connSlot, key string, hc *hostConfig, label string) (*sshConn, error) {
	c, err := connect(ctx, hc, key, label)
	if err == nil {
		c.remotePath = d.RemotePath
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil && d.closed {
		c.close()
		c, err = nil, ErrDialerClosed
	}
	s.c, s.err = c, err
	close(s.ready)
	if err != nil {
		delete(d.conns, key)
		return nil, err
	}
	c.refs = 1
	go func() { // forget the connection once it died
		<-c.dead
		d.mu.Lock()
		if d.conns[key] == s {
			delete(d.conns, key)
		}
		d.mu.Unlock()
	}()
	return c, nil
}

// release drops one reference to c and closes it with the last one.
func (d *Dialer) release(c *sshConn) {
	d.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last {
		if s := d.conns[c.key]; s != nil && s.c == c {
			delete(d.conns, c.key)
		}
	}
	d.mu.Unlock()
	if last {
		c.close()
	}
}

// Close closes every connection of the Dialer, breaking the FSes still
// open over them (their methods then fail with errors wrapping
// ErrConnLost); later Dials fail with ErrDialerClosed.
func (d *Dialer) Close() error {
	d.mu.Lock()
	d.closed = true
	var cs []*sshConn
	for k, s := range d.conns {
		select {
		case <-s.ready:
			if s.c != nil {
				cs = append(cs, s.c)
			}
		default: // the dialing goroutine closes it when it sees d.closed
		}
		delete(d.conns, k)
	}
	d.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
	return nil
}
