package main

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// forwarder relays TCP connections from a listener on 127.0.0.1 to sshd
// and counts the bytes relayed in both directions: the bytes over the
// wire, measured the same way for every tool. The relay uses io.Copy
// between TCP connections (splice on Linux), so a connection's bytes are
// counted when it ends; waitIdle waits for that.
type forwarder struct {
	ln     net.Listener
	target string

	bytes  atomic.Int64
	active atomic.Int64
	conns  atomic.Int64
}

func startForwarder(target string) (*forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, target: target}
	go f.accept()
	return f, nil
}

// Addr returns the listening address.
func (f *forwarder) Addr() *net.TCPAddr { return f.ln.Addr().(*net.TCPAddr) }

func (f *forwarder) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.active.Add(1)
		f.conns.Add(1)
		go f.serve(c.(*net.TCPConn))
	}
}

func (f *forwarder) serve(c *net.TCPConn) {
	defer f.active.Add(-1)
	defer c.Close()
	s, err := net.DialTimeout("tcp", f.target, 10*time.Second)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	go f.pipe(s.(*net.TCPConn), c, done)
	go f.pipe(c, s.(*net.TCPConn), done)
	<-done
	<-done
}

// pipe copies src to dst until EOF, then half-closes dst; on an error it
// closes both, so that the other direction ends too.
func (f *forwarder) pipe(dst, src *net.TCPConn, done chan<- struct{}) {
	n, err := io.Copy(dst, src)
	f.bytes.Add(n)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		dst.Close()
		src.Close()
	} else {
		_ = dst.CloseWrite()
	}
	done <- struct{}{}
}

// total returns the bytes relayed by the connections that ended so far.
func (f *forwarder) total() int64 { return f.bytes.Load() }

// waitIdle waits until no connection is open, at most d; it reports
// whether the forwarder is idle.
func (f *forwarder) waitIdle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for f.active.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// Close stops accepting; connections still open end with their peers.
func (f *forwarder) Close() { f.ln.Close() }
