package proxy

import (
	"bufio"
	"net/http"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// httpSide is the fast path's client half for a request served through the
// http.Handler: connections handed over by the front end (front.go), and
// servers of the user's own that serve Handler or TestHandler. It is its
// own http1.Sink.
type httpSide struct {
	w     http.ResponseWriter
	r     *http.Request
	h     http.Header
	trust bool
}

func (s *httpSide) writeRequest(w *bufio.Writer) error {
	http1.WriteRequestHead(w, s.r, http1.Forwarding{ClientIP: http1.ClientIP(s.r.RemoteAddr), Trust: s.trust})
	if s.r.ContentLength > 0 {
		// w holds the head, so ReadFrom fills w's own buffer: no copy buffer.
		m, err := w.ReadFrom(s.r.Body)
		if m != s.r.ContentLength {
			if err == nil || s.r.Context().Err() != nil {
				return errClient
			}
			return err
		}
	}
	return nil
}

func (s *httpSide) replayable() bool { return replayable(s.r) }

func (s *httpSide) head() bool { return s.r.Method == http.MethodHead }

func (s *httpSide) gone() bool { return s.r.Context().Err() != nil }

func (s *httpSide) interim(b []byte) error {
	if _, err := http1.ParseResponseHead(b, false, s.h); err != nil {
		clear(s.h)
		return err
	}
	s.w.WriteHeader(http1.Status(b))
	clear(s.h)
	return nil
}

func (s *httpSide) respond(b []byte, setCookie string) (http1.Response, error) {
	rh, err := http1.ParseResponseHead(b, s.head(), s.h)
	if err != nil {
		clear(s.h)
		return rh, err
	}
	if setCookie != "" {
		s.h.Add("Set-Cookie", setCookie)
	}
	s.w.WriteHeader(rh.Status)
	return rh, nil
}

func (s *httpSide) fail(status int, setCookie string) {
	if setCookie != "" {
		s.h.Add("Set-Cookie", setCookie)
	}
	s.w.WriteHeader(status)
}

func (s *httpSide) sink() http1.Sink { return s }

// Data implements http1.Sink.
func (s *httpSide) Data(p []byte) error {
	_, err := s.w.Write(p)
	return err
}

// Flush implements http1.Sink.
func (s *httpSide) Flush() error {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	return http.NewResponseController(s.w).Flush()
}

// Trailer implements http1.Sink, passing a trailer field on as
// httputil.ReverseProxy does: under its name when the Trailer field
// announced it, otherwise with http.TrailerPrefix.
func (s *httpSide) Trailer(line []byte) error {
	k, v, ok := http1.CutField(line)
	if !ok {
		return http1.ErrMalformed
	}
	key := http.CanonicalHeaderKey(string(k))
	if !http1.HasToken(s.h["Trailer"], key) {
		key = http.TrailerPrefix + key
	}
	s.h.Add(key, string(v))
	return nil
}

// End implements http1.Sink.
func (s *httpSide) End() error { return nil }

// serveFast proxies r to t (acquired; released here) on the fast path and
// returns how it went.
// The side is pooled: it escapes (the upstream connection refers to it
// while the answer is read), and a request should not pay for it.
func (p *Proxy) serveFast(w http.ResponseWriter, r *http.Request, t *target, setCookie string, start time.Time) outcome {
	s := httpSides.Get().(*httpSide)
	*s = httpSide{w: w, r: r, h: w.Header(), trust: p.opts.TrustForwarded}
	out := p.forward(s, t, setCookie, start)
	*s = httpSide{} // forward is done with it: no connection refers to it
	httpSides.Put(s)
	return out
}

var httpSides = sync.Pool{New: func() any { return new(httpSide) }}
