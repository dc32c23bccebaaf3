package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// ServerOptions configure the admin API's listener.
type ServerOptions struct {
	// Addr is the admin API's address: a TCP address ("127.0.0.1:9090") or
	// a unix socket ("unix:/run/bluegreen-proxy.sock", created with mode
	// 0600). Required. A TCP address that is not a loopback address
	// requires Token.
	Addr string
	// Token, if set, must be sent by clients as "Authorization: Bearer
	// <token>".
	Token string
}

// Server serves the admin API of a Proxy on its own listener.
type Server struct {
	srv     *http.Server
	addr    string
	cleanup func()
}

// Validate checks o; Start calls it, and a program may call it before it
// starts anything else.
func (o ServerOptions) Validate() error {
	switch {
	case o.Addr == "":
		return check.FieldError("ServerOptions.Addr", "empty", `use "127.0.0.1:9090" or "unix:/path/to/socket"`)
	case o.Addr == "unix:":
		return check.FieldError("ServerOptions.Addr", "unix socket without a path", `use "unix:/path/to/socket"`)
	case strings.HasPrefix(o.Addr, "unix:"):
		return nil
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return check.FieldError("ServerOptions.Addr", fmt.Sprintf("%q is not host:port", o.Addr), `use an address such as "127.0.0.1:9090"`)
	}
	ip := net.ParseIP(host)
	if o.Token == "" && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return check.FieldError("ServerOptions.Token", "empty while the admin API listens on "+o.Addr,
			"set a token, or listen on a loopback address or a unix socket")
	}
	return nil
}

// Start listens on o.Addr and serves p's admin API there in the background.
// A unix socket another process serves is an error, never taken over.
func Start(p *proxy.Proxy, o ServerOptions) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ln, cleanup, err := listen(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", o.Addr, err)
	}
	s := &Server{
		srv:     &http.Server{Handler: Handler(p, o.Token), ReadHeaderTimeout: 10 * time.Second},
		addr:    ln.Addr().String(),
		cleanup: cleanup,
	}
	if ln.Addr().Network() == "unix" {
		s.addr = "unix:" + s.addr
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.srv.Close()
		}
	}()
	return s, nil
}

// Addr returns the listener's address in the form ClientOptions.Addr takes
// ("127.0.0.1:9090" or "unix:/path").
func (s *Server) Addr() string { return s.addr }

// Shutdown stops the listener and waits for the requests in flight (a
// drain can take a while) or ctx; the socket file is removed.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.removeSocket()
	return s.srv.Shutdown(ctx)
}

// Close stops the listener and its connections at once; the socket file is
// removed.
func (s *Server) Close() error {
	defer s.removeSocket()
	return s.srv.Close()
}

func (s *Server) removeSocket() {
	if s.cleanup != nil {
		s.cleanup()
	}
}
