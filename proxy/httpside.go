package proxy

import (
	"bufio"
	"net/http"
	"time"
)

// httpSide is the fast path's client half for a request served through the
// http.Handler: connections handed over by the front end (front.go), and
// servers of the user's own that serve Handler or TestHandler.
type httpSide struct {
	w     http.ResponseWriter
	r     *http.Request
	h     http.Header
	trust bool
}

// fastEligible reports whether r can take the fast path: HTTP/1.x, no
// upgrade, no Expect, a body of known length up to maxFastBody, an
// origin-form target and a query httputil.ReverseProxy would not re-encode.
func fastEligible(r *http.Request) bool {
	if r.ProtoMajor != 1 || r.Host == "" || len(r.RequestURI) == 0 || r.RequestURI[0] != '/' ||
		r.ContentLength < 0 || r.ContentLength > maxFastBody || r.TransferEncoding != nil {
		return false
	}
	if _, ok := r.Header["Upgrade"]; ok {
		return false
	}
	if _, ok := r.Header["Expect"]; ok {
		return false
	}
	return plainQuery(r.URL.RawQuery)
}

// plainQuery reports whether a query has no semicolon and no bad escape,
// so that httputil.ReverseProxy would send it as it is.
func plainQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *httpSide) writeRequest(w *bufio.Writer) error {
	writeRequestHead(w, s.r, s.trust)
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
	if _, err := parseResponseHead(b, false, s.h); err != nil {
		clear(s.h)
		return err
	}
	s.w.WriteHeader(headStatus(b))
	clear(s.h)
	return nil
}

func (s *httpSide) respond(b []byte, setCookie string) (respHead, error) {
	rh, err := parseResponseHead(b, s.head(), s.h)
	if err != nil {
		clear(s.h)
		return rh, err
	}
	if setCookie != "" {
		s.h.Add("Set-Cookie", setCookie)
	}
	s.w.WriteHeader(rh.status)
	return rh, nil
}

func (s *httpSide) fail(status int, setCookie string) {
	if setCookie != "" {
		s.h.Add("Set-Cookie", setCookie)
	}
	s.w.WriteHeader(status)
}

func (s *httpSide) data(p []byte) error {
	_, err := s.w.Write(p)
	return err
}

func (s *httpSide) flush() error {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	return http.NewResponseController(s.w).Flush()
}

// trailer passes a trailer field on as httputil.ReverseProxy does: under
// its name when the Trailer field announced it, otherwise with
// http.TrailerPrefix.
func (s *httpSide) trailer(line []byte) error {
	k, v, ok := cutField(line)
	if !ok {
		return errMalformed
	}
	key := http.CanonicalHeaderKey(k)
	if !hasToken(s.h["Trailer"], key) {
		key = http.TrailerPrefix + key
	}
	s.h.Add(key, v)
	return nil
}

func (s *httpSide) end() error { return nil }

// serveFast proxies r to t (acquired; released here) on the fast path and
// returns how it went.
func (p *Proxy) serveFast(w http.ResponseWriter, r *http.Request, t *target, setCookie string, start time.Time) outcome {
	s := httpSide{w: w, r: r, h: w.Header(), trust: p.opts.TrustForwarded}
	return p.forward(&s, t, setCookie, start)
}
