package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sshConn is one SSH connection with its SFTP session, shared by every FS
// of one login.
type sshConn struct {
	key   string // user@host:port
	label string // endpoint text of the first Dial, for messages
	host  string // the host alias, for messages
	refs  int    // guarded by the Dialer's mu

	ssh  *ssh.Client
	sftp *sftp.Client

	dead     chan struct{} // closed when the connection is gone
	deadOnce sync.Once
	deadErr  error // why; set before dead is closed

	sessions chan struct{} // bounds exec sessions (sshd's MaxSessions is 10)
	dirs     dirCache      // directories known to hold no symlink on their path
	tmp      pathSet       // files this connection created and has not renamed yet

	remotePath string // Dialer.RemotePath

	probeOnce sync.Once
	tool      string // remote hasher: "b3sum", "backup" or ""
	gnuFind   bool   // find has -printf (for ListTree)
	touchH    bool   // touch -h -d @s.ns sets a symlink's own time
}

// Preferred ciphers: AES-GCM is fast in Go with AES-NI.
var preferredCiphers = []string{
	"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
	"aes128-ctr", "aes192-ctr", "aes256-ctr",
}

// connect dials, authenticates and starts SFTP. Errors are *DialError.
func connect(ctx context.Context, hc *hostConfig, key, label string) (*sshConn, error) {
	addr := net.JoinHostPort(hc.HostName, hc.Port)
	fail := func(kind, err error) error {
		return &DialError{Endpoint: label, Addr: addr, Kind: kind, Err: err}
	}
	lookup := addr
	if hc.HostKeyAlias != "" {
		lookup = hc.HostKeyAlias
	}
	hk := newHostKeyChecker(hc, lookup)
	keys := loadAuthKeys(hc)
	defer keys.close()
	cfg := &ssh.ClientConfig{
		User:              hc.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(keys.signers...)},
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algorithms(),
		Timeout:           hc.ConnectTimeout,
		Config:            ssh.Config{Ciphers: preferredCiphers},
	}
	nd := net.Dialer{Timeout: hc.ConnectTimeout}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fail(ErrConnect, err)
	}
	client, err := handshake(ctx, conn, addr, cfg, hc.ConnectTimeout)
	if err != nil {
		var he *HostKeyError
		switch {
		case errors.As(err, &he):
			return nil, fail(ErrHostKey, he)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fail(ErrAuth, fmt.Errorf("login as %q refused: %s", hc.User, keys.summary()))
		}
		return nil, fail(ErrConnect, err)
	}
	c := &sshConn{
		key: key, label: label, host: hc.Alias, ssh: client,
		dead: make(chan struct{}), sessions: make(chan struct{}, 8),
	}
	go func() { c.fail(client.Wait()) }()
	if hc.AliveInterval > 0 {
		go c.keepalive(hc.AliveInterval, hc.AliveCountMax)
	}
	if c.sftp, err = startSFTP(client); err != nil {
		c.close()
		return nil, fail(ErrConnect, fmt.Errorf("starting sftp: %w", err))
	}
	return c, nil
}

// handshake runs the SSH handshake on conn within timeout, or until ctx
// ends.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	stopped := stop()
	if err != nil {
		conn.Close()
		var ne net.Error
		if !stopped {
			return nil, ctx.Err()
		}
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no SSH answer within %v (host down or hung?)", timeout)
		}
		return nil, err
	}
	if !stopped {
		sc.Close()
		return nil, ctx.Err()
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// maxPacket is the SFTP data size per request for servers known to take
// it: OpenSSH's sftp-server accepts messages up to 256 KiB and reads of
// 256 KiB - 1024 bytes (it says so in its limits@openssh.com extension,
// since 8.6). Others get the 32 KiB every server must accept.
const maxPacket = 256*1024 - 1024

var opensshVersion = regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`)

// bigPackets reports whether the server version is OpenSSH 8.6 or later.
func bigPackets(serverVersion string) bool {
	m := opensshVersion.FindStringSubmatch(serverVersion)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 8 || major == 8 && minor >= 6
}

func startSFTP(client *ssh.Client) (*sftp.Client, error) {
	opts := []sftp.ClientOption{
		sftp.UseConcurrentReads(true),
		sftp.UseConcurrentWrites(true),
		sftp.UseFstat(true),
		sftp.MaxConcurrentRequestsPerFile(64),
	}
	big := bigPackets(string(client.ServerVersion()))
	if big {
		opts = append(opts, sftp.MaxPacketUnchecked(maxPacket))
	}
	sc, err := sftp.NewClient(client, opts...)
	if err != nil {
		return nil, err
	}
	if _, ok := sc.HasExtension("limits@openssh.com"); big && !ok {
		sc.Close() // not OpenSSH's sftp-server after all
		return sftp.NewClient(client, opts[:len(opts)-1]...)
	}
	return sc, nil
}

// keepalive asks the server for an answer every interval; when one does
// not come within interval*max, the connection is closed as lost.
func (c *sshConn) keepalive(interval time.Duration, max int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		timer := time.NewTimer(interval * time.Duration(max))
		select {
		case err := <-res:
			timer.Stop()
			if err != nil {
				c.fail(err)
				return
			}
		case <-timer.C:
			c.fail(fmt.Errorf("no answer from %s for %v", c.host, interval*time.Duration(max)))
			return
		case <-c.dead:
			timer.Stop()
			return
		}
	}
}

// fail marks the connection lost (the first cause wins) and closes it.
func (c *sshConn) fail(err error) {
	c.deadOnce.Do(func() {
		if err == nil {
			err = errors.New("closed")
		}
		c.deadErr = err
		close(c.dead)
	})
	c.ssh.Close()
}

// close closes the connection on purpose.
func (c *sshConn) close() {
	if c.sftp != nil {
		c.sftp.Close()
	}
	c.fail(errors.New("closed"))
}

func (c *sshConn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// connLost is the error of an operation that failed because the connection
// broke; it matches ErrConnLost.
type connLost struct {
	host  string
	cause error
}

func (e *connLost) Error() string {
	return fmt.Sprintf("connection to %s lost: %v", e.host, e.cause)
}

func (e *connLost) Unwrap() []error { return []error{ErrConnLost, e.cause} }

// lost wraps err as a lost connection, with the reason the connection died
// when known.
func (c *sshConn) lost(err error) error {
	select {
	case <-c.dead:
		if c.deadErr != nil {
			return &connLost{host: c.host, cause: c.deadErr}
		}
	default:
	}
	return &connLost{host: c.host, cause: err}
}
