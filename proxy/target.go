package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// target is one upstream instance of an environment. Its health is one
// atomic flag that the request path reads, and that active checks and
// passive failures write.
type target struct {
	addr string   // normalized, "http://host:port"
	url  *url.URL // parsed addr
	fast bool     // plain http: the fast path may carry its requests (https goes through ReverseProxy)
	pool *pool
	rp   *httputil.ReverseProxy

	up       atomic.Bool // takes new requests
	refused  atomic.Bool // a connection was refused since the last active check
	gone     atomic.Bool // removed by SetTargets: no new requests, ever
	inflight atomic.Int64
	idle     chan struct{}        // receives when inflight drops to 0 once gone
	kill     atomic.Pointer[kill] // canceled to cut t's requests in flight on the ReverseProxy path
	conns    connPool             // the fast path's connections; closed to cut its requests

	strayLog atomic.Int64 // when stray bytes were last logged (Unix nanoseconds)

	mu        sync.Mutex    // guards checkStop
	checkStop chan struct{} // closes to stop the active checker; nil when none runs
}

// TargetStatus reports one instance of an environment.
type TargetStatus struct {
	// Addr is the instance's address, as "http://host:port".
	Addr string `json:"addr"`
	// Healthy reports whether it takes new requests.
	Healthy bool `json:"healthy"`
}

func newTarget(pl *pool, addr string) *target {
	u, _ := url.Parse(addr) // addr was normalized by normalizeTarget
	t := &target{addr: addr, url: u, fast: u.Scheme == "http", pool: pl, idle: make(chan struct{}, 1)}
	t.conns.maxIdle = pl.proxy.opts.MaxIdleConnsPerHost
	t.up.Store(true)
	t.kill.Store(newKillUnder(pl.kill.Load().ctx))
	px := pl.proxy
	t.rp = &httputil.ReverseProxy{
		Rewrite:      t.rewrite,
		Transport:    t,
		BufferPool:   px.buffers,
		ErrorHandler: px.proxyError,
		ErrorLog:     px.errorLog,
		// FlushInterval stays 0: ReverseProxy already flushes every write of
		// a streamed response (text/event-stream, or no Content-Length), and
		// flushing ordinary responses write by write would cost a syscall each.
	}
	return t
}

// rewrite points the outgoing request at t, keeping the client's Host header
// (as ALB and kamal-proxy do, so applications see their own host name) and
// setting X-Forwarded-For, -Host and -Proto.
func (t *target) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = t.url.Scheme
	pr.Out.URL.Host = t.url.Host
	trust := t.pool.proxy.opts.TrustForwarded
	if trust {
		// SetXForwarded appends the client's address to what is already there.
		if v, ok := pr.In.Header["X-Forwarded-For"]; ok {
			pr.Out.Header["X-Forwarded-For"] = v
		}
	}
	pr.SetXForwarded()
	if trust {
		// A trusted front proxy knows the scheme the client used; we do not.
		if v, ok := pr.In.Header["X-Forwarded-Proto"]; ok {
			pr.Out.Header["X-Forwarded-Proto"] = v
		}
	}
}

// maxRetries bounds how many other instances a request refused by its first
// instance is tried on.
const maxRetries = 3

// RoundTrip sends req to its instance. When the instance refuses the
// connection it is marked down (a passive health check), and a request that
// can be replayed safely (idempotent method, no body) is tried on another
// healthy instance of the same environment.
func (t *target) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := t.pool.proxy.transport
	res, err := tr.RoundTrip(req)
	if err == nil || !isDialError(err) {
		return res, err
	}
	t.markRefused()
	if !replayable(req) {
		return nil, err
	}
	tried := [maxRetries + 1]*target{t}
	for n := 1; n < len(tried); n++ {
		next := t.pool.pickExcept(tried[:n])
		if next == nil {
			break
		}
		tried[n] = next
		if !next.acquire() {
			continue // removed a moment ago
		}
		retry := *req
		u := *req.URL
		u.Host = next.url.Host
		retry.URL = &u
		res, err = tr.RoundTrip(&retry)
		if err == nil {
			// next serves the request until its body is closed: count it
			// in flight there, so removing next waits for it.
			res.Body = releaseOnClose(res.Body, next)
			return res, nil
		}
		next.release()
		if !isDialError(err) {
			return nil, err
		}
		next.markRefused()
	}
	return nil, err
}

// releaseOnClose wraps body so that closing it releases t. A 101 response's
// body is the upgraded connection, which ReverseProxy writes to as well.
func releaseOnClose(body io.ReadCloser, t *target) io.ReadCloser {
	rb := releasingBody{ReadCloser: body, t: t, once: new(sync.Once)}
	if rw, ok := body.(io.ReadWriteCloser); ok {
		return releasingConn{rb, rw}
	}
	return rb
}

type releasingBody struct {
	io.ReadCloser
	t    *target
	once *sync.Once
}

func (b releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.t.release)
	return err
}

type releasingConn struct {
	releasingBody
	w io.Writer
}

func (c releasingConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// markRefused takes t out of rotation after a refused connection: until
// active checks pass again, or for the cooldown when there are none.
func (t *target) markRefused() { t.markFailed("refused a connection") }

// noteStray counts n answers of t followed by bytes nobody asked for, and
// logs them at most once a second.
func (t *target) noteStray(n int) {
	pl := t.pool
	pl.metrics.unsolicited.Add(uint64(n))
	now := time.Now().UnixNano()
	if last := t.strayLog.Load(); now-last >= int64(time.Second) && t.strayLog.CompareAndSwap(last, now) {
		pl.proxy.log.Warn("proxy: instance sent bytes nobody asked for (a body on a HEAD, 204 or 304 answer, or an extra answer); its connection was closed",
			"service", pl.service, "slot", pl.slot, "target", t.addr, "unsolicited", pl.metrics.unsolicited.Load())
	}
}

// markFailed takes t out of rotation after a passive health check failed
// (a refused connection, a malformed answer): until active checks pass
// again, or for the cooldown when there are none.
func (t *target) markFailed(why string) {
	t.refused.Store(true)
	if !t.up.Swap(false) {
		return
	}
	pl := t.pool
	pl.proxy.log.Warn("proxy: instance "+why+"; taking it out of rotation",
		"service", pl.service, "slot", pl.slot, "target", t.addr)
	hc := pl.healthCheck()
	if hc.Path != "" {
		return // the active checker brings it back
	}
	time.AfterFunc(hc.Cooldown, func() {
		if !t.gone.Load() && !t.up.Swap(true) {
			pl.proxy.log.Info("proxy: instance back in rotation after cooldown",
				"service", pl.service, "slot", pl.slot, "target", t.addr)
		}
	})
}

// isDialError reports whether err is a failure to connect: nothing was sent,
// so the instance never saw the request.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// replayable reports whether req may be sent again: its method is
// idempotent and it has no body that the first attempt could have consumed.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody
}

// stopChecks stops t's active checker, if one runs.
func (t *target) stopChecks() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.checkStop != nil {
		close(t.checkStop)
		t.checkStop = nil
	}
}

// acquire counts a request in flight on t, unless t is gone (the same
// protocol as pool.acquire).
func (t *target) acquire() bool {
	t.inflight.Add(1)
	if t.gone.Load() {
		t.release()
		return false
	}
	return true
}

func (t *target) release() {
	if t.inflight.Add(-1) == 0 && t.gone.Load() {
		select {
		case t.idle <- struct{}{}:
		default:
		}
	}
}

// remove takes t out for good and stops its health checks; its requests in
// flight go on (see waitGone), and its idle connections close.
func (t *target) remove() {
	t.gone.Store(true)
	t.stopChecks()
	t.conns.closeIdle(true)
}

// cut ends t's requests in flight: a deregistration delay has passed.
func (t *target) cut() {
	t.kill.Load().cancel()
	t.conns.closeAll()
}

// killed reports whether a deregistration delay cut t's requests.
func (t *target) killed() bool { return t.kill.Load().ctx.Err() != nil }

// waitGone waits until the removed t has no request in flight, or until
// deadline fires, when it cancels them and waits for them to unwind.
func (t *target) waitGone(ctx context.Context, deadline <-chan time.Time) error {
	for t.inflight.Load() > 0 {
		select {
		case <-t.idle:
		case <-ctx.Done():
			return fmt.Errorf("proxy: remove %s: %d requests still in flight: %w", t.addr, t.inflight.Load(), ctx.Err())
		case <-deadline:
			t.pool.proxy.log.Warn("proxy: deregistration delay passed; canceling requests still in flight",
				"service", t.pool.service, "slot", t.pool.slot, "target", t.addr, "inFlight", t.inflight.Load())
			t.cut()
			return waitZero(ctx, &t.inflight, t.idle)
		}
	}
	return nil
}

// normalizeTarget turns "host:port" or "http://host:port" into
// "http://host:port" (see check.Target).
func normalizeTarget(field, s string) (string, error) { return check.Target(field, s) }
