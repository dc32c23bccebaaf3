package awsfake

import (
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// InProcess is an http.RoundTripper that hands each request to a fake's
// ServeHTTP in the calling goroutine, without a socket: the request and
// response are the same HTTP messages a loopback server would see, but no
// connection goroutines exist, so a test can run the real SDK clients inside
// a testing/synctest bubble, where a fake's clock (time.Now) is virtual.
type InProcess struct {
	// Handler serves the requests.
	Handler http.Handler
}

// RoundTrip serves req with the handler and returns its response.
func (p InProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	p.Handler.ServeHTTP(rec, in)
	if req.Body != nil {
		req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// InProcessConfig returns Config for a fake served in process by h (see
// InProcess): the endpoint is a placeholder loopback URL that is never dialed.
func InProcessConfig(h http.Handler) aws.Config {
	cfg := Config("http://127.0.0.1:1")
	cfg.HTTPClient = &http.Client{Transport: InProcess{Handler: h}}
	return cfg
}
