package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
)

// TLSOptions make the production listener speak HTTPS. HTTP/1.1 requests
// take the front end's fast path over TLS; HTTP/2, negotiated by ALPN, is
// served by net/http's server with the same routing.
type TLSOptions struct {
	// CertFile and KeyFile are PEM files holding the certificate (with its
	// chain) and its private key. Proxy.ReloadCertificate reads them again
	// (the daemon does on SIGHUP): new connections get the new certificate,
	// connections open stay as they are.
	CertFile string
	KeyFile  string
	// RedirectAddr, if set, is a plain HTTP listener (such as ":80") that
	// answers every request with a permanent redirect (308) to the same
	// URL over HTTPS.
	RedirectAddr string
}

// certStore holds the certificate the production listener presents.
type certStore struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// load reads the certificate files.
func (s *certStore) load(field string) error {
	c, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fieldError(field, fmt.Sprintf("cannot load the certificate and key: %v", err),
			"give PEM files holding a certificate and its private key")
	}
	s.cert.Store(&c)
	return nil
}

// config returns the listener's TLS configuration: TLS 1.2 and later,
// HTTP/2 and HTTP/1.1 by ALPN, the certificate read at each handshake.
func (s *certStore) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cert.Load(), nil
		},
	}
}

// validate checks o and loads its certificate.
func (o *TLSOptions) validate() error {
	switch {
	case o.CertFile == "":
		return fieldError("Options.TLS.CertFile", "empty", "give the PEM file of the listener's certificate")
	case o.KeyFile == "":
		return fieldError("Options.TLS.KeyFile", "empty", "give the PEM file of the certificate's private key")
	case o.RedirectAddr != "":
		if err := checkAddr("Options.TLS.RedirectAddr", o.RedirectAddr); err != nil {
			return err
		}
	}
	return nil
}

// ReloadCertificate reads Options.TLS's certificate files again: new
// connections get the new certificate, connections open keep theirs. On
// error the certificate in use stays. Without Options.TLS it does nothing.
func (p *Proxy) ReloadCertificate() error {
	if p.certs == nil {
		return nil
	}
	if err := p.certs.load("Options.TLS"); err != nil {
		return err
	}
	p.log.Info("proxy: certificate reloaded", "cert", p.certs.certFile)
	return nil
}

// redirectHandler answers every request with a permanent redirect to the
// same URL over HTTPS, on the production listener's port.
type redirectHandler struct{ port string }

func (h redirectHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := stripPort(r.Host)
	if host == "" {
		http.Error(w, "missing Host", http.StatusBadRequest)
		return
	}
	if h.port != "443" && h.port != "" {
		host = net.JoinHostPort(host, h.port)
	} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
}

// tlsStateKey carries the TLS state of a connection the front end handed
// to net/http with bytes already read (net/http then sees a plain
// connection).
type tlsStateKey struct{}

// tlsState restores r.TLS for requests on handed-over TLS connections, so
// that X-Forwarded-Proto says https.
type tlsState struct{ h http.Handler }

func (t tlsState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
			r.TLS = st
		}
	}
	t.h.ServeHTTP(w, r)
}

// connContext stores the TLS state of a handed-over TLS connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*prefixConn); ok && pc.tls != nil {
		return context.WithValue(ctx, tlsStateKey{}, pc.tls)
	}
	return ctx
}
