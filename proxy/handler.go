package proxy

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// prodHandler serves the production listener.
type prodHandler struct{ p *Proxy }

// testHandler serves the test listener.
type testHandler struct{ p *Proxy }

// drainRetries bounds how often a request re-reads the routing table after
// finding its environment draining (the table it read was a moment old).
const drainRetries = 3

func (h prodHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for range drainRetries {
		e := h.p.table.Load().lookup(r.Host)
		if e == nil {
			http.Error(w, "no service for host "+r.Host, http.StatusNotFound)
			return
		}
		slot, setCookie := e.production(httpInfo{r})
		if slot < 0 {
			http.Error(w, "service "+e.svc.name+" has no production route", http.StatusServiceUnavailable)
			return
		}
		if h.p.serve(w, r, e.svc.pools[slot], setCookie) {
			return
		}
	}
	http.Error(w, "environment draining", http.StatusServiceUnavailable)
}

func (h testHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for range drainRetries {
		e := h.p.table.Load().lookup(r.Host)
		if e == nil {
			http.Error(w, "no service for host "+r.Host, http.StatusNotFound)
			return
		}
		if e.test < 0 {
			http.Error(w, "service "+e.svc.name+" has no test route", http.StatusServiceUnavailable)
			return
		}
		if h.p.serve(w, r, e.svc.pools[e.test], "") {
			return
		}
	}
	http.Error(w, "test environment draining", http.StatusServiceUnavailable)
}

// serve proxies r to an instance of pl. It returns false, having done
// nothing, when pl is draining.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, pl *pool, setCookie string) bool {
	if !pl.acquire() {
		return false
	}
	start := time.Now()
	t := pl.pick()
	for tries := 0; t != nil && !t.acquire(); tries++ {
		// t was removed after this request read the list; read it again.
		t = nil
		if tries < drainRetries {
			t = pl.pick()
		}
	}
	if t == nil {
		http.Error(w, "service "+pl.service+" slot "+string(pl.slot)+" has no instances", http.StatusServiceUnavailable)
		pl.metrics.record(http.StatusServiceUnavailable, time.Since(start))
		pl.release()
		return true
	}
	if !p.fast || !t.fast || !http1.Eligible(r) {
		p.reverse(w, r, pl, t, setCookie, start)
		return true
	}
	out := p.serveFast(w, r, t, setCookie, start)
	pl.metrics.record(out.status, time.Since(start))
	pl.release()
	if out.abort {
		// The answer broke off midway; as httputil.ReverseProxy does, end
		// the client's connection so it cannot take the answer as whole.
		panic(http.ErrAbortHandler)
	}
	return true
}

// reverse proxies r to t with httputil.ReverseProxy (upgrades, streamed
// request bodies, custom transports), then records the answer in pl's
// metrics and releases t and pl. The request's context ends when the
// client goes away or when the drain of its instance or environment runs
// out of time.
func (p *Proxy) reverse(w http.ResponseWriter, r *http.Request, pl *pool, t *target, setCookie string, start time.Time) {
	rec := recorders.Get().(*recorder)
	rec.ResponseWriter, rec.status = w, 0
	defer func() {
		// ReverseProxy panics with http.ErrAbortHandler when an answer
		// breaks off; the instance, the pool and the metrics still hear of it.
		t.release()
		status := rec.status
		if status == 0 {
			status = http.StatusSwitchingProtocols // hijacked for an upgrade: no WriteHeader
		}
		rec.ResponseWriter, rec.kill = nil, nil
		recorders.Put(rec)
		pl.metrics.record(status, time.Since(start))
		pl.release()
	}()
	if setCookie != "" {
		w.Header().Add("Set-Cookie", setCookie)
	}
	kill := t.kill.Load().ctx
	rec.kill = kill
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(kill, cancel)
	defer stop()
	t.rp.ServeHTTP(rec, r.WithContext(ctx))
}

// proxyError answers a request no instance answered: 503 when its
// environment's drain ran out of time, 504 after a timeout, 502 otherwise,
// and nothing when the client is gone.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rec, _ := w.(*recorder)
	if rec != nil && rec.kill != nil && rec.kill.Err() != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.Context().Err() != nil {
		if rec != nil && rec.status == 0 {
			rec.status = statusClientGone
		}
		return
	}
	status := http.StatusBadGateway
	if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	w.WriteHeader(status)
}

// recorder notes the status of a response on its way through.
type recorder struct {
	http.ResponseWriter
	status int
	kill   context.Context // the instance's drain deadline
}

var recorders = sync.Pool{New: func() any { return new(recorder) }}

// WriteHeader notes the first final status. It drops an instance's
// 100 Continue: net/http's server answers the client's Expect itself when
// the body is first read, which the transport does once the instance's
// 100 came (or ExpectContinueTimeout passed). Passing the instance's on
// too sent the client a second 100 whenever the server's went first, as
// the transport may start sending the body before ReverseProxy hears of
// the instance's 100.
func (r *recorder) WriteHeader(code int) {
	if code == http.StatusContinue {
		return
	}
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write notes an implicit 200.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack, which
// ReverseProxy uses for streams and upgrades.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
