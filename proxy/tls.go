package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLSOptions make the production listener speak HTTPS. HTTP/1.1 requests
// take the front end's fast path over TLS; HTTP/2, negotiated by ALPN, is
// served by net/http's server with the same routing. The certificate comes
// from files (CertFile and KeyFile), from an ACME certificate authority
// (ACME), or both: ACME's for its hosts, the files' for every other name.
type TLSOptions struct {
	// CertFile and KeyFile are PEM files holding the certificate (with its
	// chain) and its private key. Proxy.ReloadCertificate reads them again
	// (the daemon does on SIGHUP): new connections get the new certificate,
	// connections open stay as they are.
	CertFile string
	KeyFile  string
	// RedirectAddr, if set, is a plain HTTP listener (such as ":80") that
	// answers every request with a permanent redirect (308) to the same
	// URL over HTTPS. With ACME it also answers the CA's HTTP-01
	// challenges.
	RedirectAddr string
	// ACME, if set, obtains certificates for named hosts from an ACME
	// certificate authority (Let's Encrypt by default) and renews them
	// before they expire.
	ACME *ACMEOptions
}

// ACMEOptions obtain and renew the production listener's certificates from
// an ACME certificate authority (RFC 8555), with golang.org/x/crypto's
// autocert. The CA checks that the proxy answers for each host: by the
// TLS-ALPN-01 challenge on the production listener (which must therefore be
// reachable on port 443 under the host's name) or, when
// TLSOptions.RedirectAddr is set, by the HTTP-01 challenge on it (port
// 80). A certificate is asked for at the first handshake naming its host,
// kept in CacheDir, and renewed 30 days before it expires.
type ACMEOptions struct {
	// Hosts are the host names to get certificates for, such as
	// "app.example.com": DNS names, no port, no wildcard (the challenges
	// above cannot prove a wildcard). Handshakes naming another host get
	// the certificate files', if any, or fail.
	Hosts []string
	// CacheDir keeps the account key and the certificates between runs;
	// required, since a proxy asking anew at every start soon meets the
	// CA's rate limits. Made if missing (mode 0700).
	CacheDir string
	// DirectoryURL is the CA's ACME directory; Let's Encrypt's production
	// directory if empty. Try a setup against Let's Encrypt's staging
	// directory first (https://acme-staging-v02.api.letsencrypt.org/directory).
	DirectoryURL string
	// Email is the contact address registered with the CA, for its notices
	// (expiry, revocation); optional.
	Email string
	// HTTPClient reaches the CA; http.DefaultClient if nil. For a CA with
	// a private root (inside a company, in tests).
	HTTPClient *http.Client
}

// certStore holds what the production listener presents: the certificate
// files', ACME's, or both.
type certStore struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate] // nil without files
	acme              *autocert.Manager               // nil without ACME
	acmeHosts         map[string]bool
}

// newCertStore loads o's certificate files and sets ACME up.
func newCertStore(o *TLSOptions) (*certStore, error) {
	s := &certStore{certFile: o.CertFile, keyFile: o.KeyFile}
	if s.certFile != "" {
		if err := s.load("Options.TLS"); err != nil {
			return nil, err
		}
	}
	if a := o.ACME; a != nil {
		if err := os.MkdirAll(a.CacheDir, 0o700); err != nil {
			return nil, fieldError("Options.TLS.ACME.CacheDir", err.Error(), "give a directory the proxy can create and write")
		}
		client := &acme.Client{DirectoryURL: a.DirectoryURL, HTTPClient: a.HTTPClient}
		if client.DirectoryURL == "" {
			client.DirectoryURL = acme.LetsEncryptURL
		}
		s.acmeHosts = map[string]bool{}
		for _, h := range a.Hosts {
			s.acmeHosts[strings.ToLower(h)] = true
		}
		s.acme = &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(a.CacheDir),
			HostPolicy: autocert.HostWhitelist(a.Hosts...),
			Email:      a.Email,
			Client:     client,
		}
	}
	return s, nil
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
// HTTP/2 and HTTP/1.1 by ALPN (and the TLS-ALPN-01 challenge's protocol
// with ACME), the certificate chosen at each handshake.
func (s *certStore) config() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if s.acme != nil {
		protos = append(protos, acme.ALPNProto)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     protos,
		GetCertificate: s.certificate,
	}
}

// certificate picks the certificate of a handshake: ACME's for its hosts
// and for the CA's TLS-ALPN-01 challenges, the files' for anything else.
func (s *certStore) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.acme != nil && (s.acmeHosts[strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))] ||
		slices.Contains(hello.SupportedProtos, acme.ALPNProto)) {
		return s.acme.GetCertificate(hello)
	}
	if c := s.cert.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("proxy: no certificate for server name %q: it is none of Options.TLS.ACME.Hosts, and there are no certificate files", hello.ServerName)
}

// challengeOnly reports whether a connection was opened only for a
// TLS-ALPN-01 challenge: the handshake was the answer, and it carries no
// requests.
func challengeOnly(st tls.ConnectionState) bool { return st.NegotiatedProtocol == acme.ALPNProto }

// redirect returns the redirect listener's handler: the HTTP-01
// challenges with ACME, a redirect to HTTPS for everything else.
func (s *certStore) redirect(port string) http.Handler {
	h := http.Handler(redirectHandler{port: port})
	if s.acme != nil {
		h = s.acme.HTTPHandler(h)
	}
	return h
}

// validate checks o; newCertStore loads its certificate.
func (o *TLSOptions) validate() error {
	switch {
	case o.CertFile == "" && o.KeyFile == "" && o.ACME == nil:
		return fieldError("Options.TLS", "no certificate: neither CertFile and KeyFile nor ACME", "give the PEM files of the listener's certificate and key, or ACME hosts")
	case o.CertFile == "" && o.KeyFile != "":
		return fieldError("Options.TLS.CertFile", "empty while KeyFile is set", "give the PEM file of the listener's certificate")
	case o.KeyFile == "" && o.CertFile != "":
		return fieldError("Options.TLS.KeyFile", "empty while CertFile is set", "give the PEM file of the certificate's private key")
	}
	if o.RedirectAddr != "" {
		if err := checkAddr("Options.TLS.RedirectAddr", o.RedirectAddr); err != nil {
			return err
		}
	}
	if o.ACME != nil {
		return o.ACME.validate()
	}
	return nil
}

func (a *ACMEOptions) validate() error {
	if len(a.Hosts) == 0 {
		return fieldError("Options.TLS.ACME.Hosts", "empty", "name the hosts to get certificates for, such as app.example.com")
	}
	for i, h := range a.Hosts {
		if err := checkACMEHost(h); err != nil {
			return fieldError(fmt.Sprintf("Options.TLS.ACME.Hosts[%d]", i), err.Error(), "give a DNS name such as app.example.com: no port, scheme, IP address or wildcard")
		}
	}
	if a.CacheDir == "" {
		return fieldError("Options.TLS.ACME.CacheDir", "empty", "give a directory to keep the account key and certificates in between runs")
	}
	if a.DirectoryURL != "" {
		u, err := url.Parse(a.DirectoryURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fieldError("Options.TLS.ACME.DirectoryURL", fmt.Sprintf("%q is not an http(s) URL", a.DirectoryURL), "give the CA's directory URL, or leave it empty for Let's Encrypt")
		}
	}
	return nil
}

// checkACMEHost says what keeps h from being a host an ACME CA can issue a
// certificate for by the challenges autocert answers.
func checkACMEHost(h string) error {
	switch {
	case h == "":
		return errors.New("empty")
	case strings.HasPrefix(h, "*."):
		return fmt.Errorf("%q is a wildcard, which needs the DNS-01 challenge", h)
	case net.ParseIP(strings.Trim(h, "[]")) != nil:
		return fmt.Errorf("%q is an IP address", h)
	case len(h) > 253:
		return fmt.Errorf("%q is longer than 253 bytes", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q has an empty, long or hyphen-edged label", h)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%q holds %q, which a DNS name cannot", h, c)
			}
		}
	}
	return nil
}

// ReloadCertificate reads Options.TLS's certificate files again: new
// connections get the new certificate, connections open keep theirs. On
// error the certificate in use stays. Without certificate files it does
// nothing (ACME's certificates renew themselves).
func (p *Proxy) ReloadCertificate() error {
	if p.certs == nil || p.certs.certFile == "" {
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
