package proxy

import (
	"bufio"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// upConn is a persistent HTTP/1.1 connection to one instance, used by the
// fast path (forward.go) for one request at a time.
type upConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer

	fd      int // the socket, for peeking without a system call's wrapper; -1 if unknown
	raw     *rawIO
	flushFn func() error
	side    side // the request being served, while one is

	idleSince time.Time   // when it was last put back in its pool
	deadline  time.Time   // the read deadline last set on nc
	cut       atomic.Bool // closed by a drain's deadline, not by a failure
}

// Buffer sizes of upstream connections. A response head must fit in the
// reader's buffer to take the allocation-free path; larger ones still work.
const (
	upReadSize  = 16 << 10
	upWriteSize = 8 << 10
)

var (
	upReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, upReadSize) }}
	upWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, upWriteSize) }}
)

// connPool holds an instance's connections: the idle ones, most recently
// used on top, and every open one, so that a drain's deadline can close
// those in use as well (which cuts their requests without a context per
// request).
type connPool struct {
	mu      sync.Mutex
	idle    []*upConn
	all     map[*upConn]struct{}
	closed  bool // the instance was removed: connections are not kept
	maxIdle int
}

// idleTimeout is how long an idle connection is kept; it matches the
// transport the slow path uses.
const idleTimeout = 90 * time.Second

var upDialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// get returns an idle connection (reused true) or, when there is none or
// fresh is set, a new one. Every idle connection is checked before it is
// reused, as net/http's Transport watches its idle connections: one the
// instance closed is dropped, and so is one on which the instance sent
// bytes nobody asked for (strays counts those), so that no request ever
// takes them for its answer.
func (cp *connPool) get(addr string, fresh bool) (c *upConn, reused bool, strays int, err error) {
	for !fresh {
		cp.mu.Lock()
		n := len(cp.idle)
		if n == 0 {
			cp.mu.Unlock()
			break
		}
		c = cp.idle[n-1]
		cp.idle[n-1] = nil
		cp.idle = cp.idle[:n-1]
		cp.mu.Unlock()
		switch c.state() {
		case connOpen, connUnknown:
			return c, true, strays, nil
		case connData:
			strays++
		}
		cp.drop(c)
	}
	nc, err := upDialer.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, false, strays, err
	}
	br := upReaders.Get().(*bufio.Reader)
	bw := upWriters.Get().(*bufio.Writer)
	c = &upConn{nc: nc, br: br, bw: bw, fd: connFD(nc), raw: newRawIO(nc), flushFn: bw.Flush}
	if c.raw != nil {
		br.Reset(c.raw)
		bw.Reset(c.raw)
	} else {
		br.Reset(nc)
		bw.Reset(nc)
	}
	cp.mu.Lock()
	if cp.all == nil {
		cp.all = map[*upConn]struct{}{}
	}
	cp.all[c] = struct{}{}
	cp.mu.Unlock()
	return c, false, strays, nil
}

// state reports what an idle connection holds: nothing (open), bytes the
// instance sent unasked (data), or its end (closed). It costs one
// non-blocking system call.
func (c *upConn) state() connState {
	if c.br.Buffered() > 0 {
		return connData
	}
	if c.fd >= 0 {
		return peekFD(c.fd)
	}
	return peekConn(c.nc)
}

// put returns c to the pool after a complete exchange; it closes c instead
// when the pool is full or closed, or when a drain's deadline cut c. It
// also closes the least recently used idle connection once it has been
// idle too long.
func (cp *connPool) put(c *upConn, now time.Time) {
	c.idleSince = now
	cp.mu.Lock()
	if cp.closed || c.cut.Load() || len(cp.idle) >= cp.maxIdle {
		cp.mu.Unlock()
		cp.drop(c)
		return
	}
	cp.idle = append(cp.idle, c)
	var old *upConn
	if len(cp.idle) > 1 && now.Sub(cp.idle[0].idleSince) > idleTimeout {
		old = cp.idle[0]
		cp.idle = append(cp.idle[:0], cp.idle[1:]...)
		delete(cp.all, old)
	}
	cp.mu.Unlock()
	if old != nil {
		old.close()
	}
}

// drop closes c, which its caller owns, and forgets it.
func (cp *connPool) drop(c *upConn) {
	cp.mu.Lock()
	delete(cp.all, c)
	cp.mu.Unlock()
	c.close()
}

// close closes the connection and recycles its buffers. Call it once, from
// the goroutine that owns c, or on an idle connection.
func (c *upConn) close() {
	c.nc.Close()
	c.br.Reset(nil)
	c.bw.Reset(nil)
	upReaders.Put(c.br)
	upWriters.Put(c.bw)
}

// closeAll closes every connection, idle or in use: a drain's deadline
// passed. The requests on them fail at once (and answer 503); their
// goroutines still own them and recycle their buffers.
func (cp *connPool) closeAll() {
	cp.mu.Lock()
	idle := cp.idle
	cp.idle = nil
	for _, c := range idle {
		delete(cp.all, c)
	}
	busy := make([]*upConn, 0, len(cp.all))
	for c := range cp.all {
		c.cut.Store(true)
		busy = append(busy, c)
	}
	clear(cp.all)
	cp.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	for _, c := range busy {
		c.nc.Close()
	}
}

// closeIdle closes the idle connections; with final, the pool keeps none
// from now on (its instance was removed).
func (cp *connPool) closeIdle(final bool) {
	cp.mu.Lock()
	idle := cp.idle
	cp.idle = nil
	for _, c := range idle {
		delete(cp.all, c)
	}
	if final {
		cp.closed = true
	}
	cp.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// connState is what peekConn sees of a connection.
type connState uint8

const (
	connUnknown connState = iota
	connOpen              // open, nothing to read
	connData              // the peer sent something
	connClosed            // the peer closed it (or it failed)
)
