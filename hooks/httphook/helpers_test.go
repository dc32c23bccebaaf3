package httphook_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// serveTLS serves h over HTTPS on 127.0.0.1 until the test ends and
// returns its URL and a client that trusts its certificate.
func serveTLS(t *testing.T, h http.Handler) (string, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/hooks/smoke", srv.Client()
}

// newHook returns a Hook calling a receiver of hook over HTTPS on loopback.
func newHook(t *testing.T, hook bluegreen.Hook, o httphook.Options) *httphook.Hook {
	t.Helper()
	url, client := serveTLS(t, httphook.Handler(secret, hook))
	if o.URL == "" {
		o.URL = url
	}
	if o.Client == nil {
		o.Client = client
	}
	if o.Secret == nil {
		o.Secret = secret
	}
	h, err := httphook.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
