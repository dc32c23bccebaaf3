package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy/internal/acmetest"
)

// acmeClient returns a client that reaches every host name at addr over
// TLS, trusting roots, speaking HTTP/2 when h2.
func acmeClient(t *testing.T, addr string, roots *x509.CertPool, h2 bool) *http.Client {
	t.Helper()
	d := &net.Dialer{Timeout: testTimeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testTimeout}
}

// TestACME: with ACME hosts the proxy gets their certificate from the CA at
// the first handshake naming one (the TLS-ALPN-01 challenge answered on
// the production listener, or HTTP-01 on the redirect listener), serves
// HTTP/1.1 and HTTP/2 with it, keeps the certificate files for other
// names, and a restarted proxy uses the cached certificate without asking
// the CA again.
func TestACME(t *testing.T) {
	for _, challenge := range []string{acmetest.ChallengeTLSALPN01, acmetest.ChallengeHTTP01} {
		t.Run(challenge, func(t *testing.T) {
			inst := newBackend(t, "inst", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.Host+" "+r.Header.Get("X-Forwarded-Proto"))
			})
			files := t.TempDir()
			fileCert := writeCert(t, files, "files")
			cache := filepath.Join(t.TempDir(), "acme")

			var prodAddr, redirectAddr string
			ca := acmetest.New(t, acmetest.Options{
				Challenges:  []string{challenge},
				ResolveTLS:  func(host string) (string, bool) { return prodAddr, host == "app.test" },
				ResolveHTTP: func(host string) (string, bool) { return redirectAddr, host == "app.test" },
			})
			start := func() *Proxy {
				p := startProxy(t, Options{DefaultService: "web", TLS: &TLSOptions{
					CertFile: filepath.Join(files, "cert.pem"), KeyFile: filepath.Join(files, "key.pem"),
					RedirectAddr: "127.0.0.1:0",
					ACME:         &ACMEOptions{Hosts: []string{"app.test"}, CacheDir: cache, DirectoryURL: ca.DirectoryURL(), Email: "ops@app.test"},
				}})
				mustSetup(t, p, []string{inst.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
				prodAddr, redirectAddr = p.Addr(), p.addr("redirect")
				return p
			}
			p := start()

			for _, h2 := range []bool{false, true} {
				res, err := acmeClient(t, p.Addr(), ca.Roots(), h2).Get("https://app.test/x")
				if err != nil {
					t.Fatalf("h2=%v: %v", h2, err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(body) != "app.test https" || res.TLS.PeerCertificates[0].VerifyHostname("app.test") != nil {
					t.Errorf("h2=%v: %q with a certificate for %v; want the instance's answer over the CA's certificate for app.test",
						h2, body, res.TLS.PeerCertificates[0].DNSNames)
				}
			}
			var got []string
			for _, v := range ca.Validations() {
				if v.Err != nil {
					t.Errorf("validation of %s by %s failed: %v", v.Host, v.Challenge, v.Err)
				}
				got = append(got, v.Host+" "+v.Challenge)
			}
			if diff := cmp.Diff([]string{"app.test " + challenge}, got); diff != "" {
				t.Errorf("validations (-want +got):\n%s", diff)
			}
			if n := len(ca.Issued()); n != 1 {
				t.Errorf("%d certificates issued, want 1 for both requests", n)
			}

			// Another name gets the certificate files'.
			pool := x509.NewCertPool()
			pool.AddCert(fileCert)
			c := acmeClient(t, p.Addr(), pool, false)
			c.Transport.(*http.Transport).TLSClientConfig.ServerName = "127.0.0.1"
			res, err := c.Get("https://other.test/")
			if err != nil {
				t.Fatalf("another host name: %v", err)
			}
			res.Body.Close()
			if cn := res.TLS.PeerCertificates[0].Subject.CommonName; cn != "files" {
				t.Errorf("another host name got the certificate %q, want the files'", cn)
			}

			// A restarted proxy takes the certificate from its cache.
			before := ca.Requests()
			p.Close()
			p = start()
			res, err = acmeClient(t, p.Addr(), ca.Roots(), false).Get("https://app.test/again")
			if err != nil {
				t.Fatalf("after a restart: %v", err)
			}
			res.Body.Close()
			after := ca.Requests()
			for _, ep := range []string{"newAccount", "newOrder", "challenge", "finalize", "certificate"} {
				if after[ep] != before[ep] {
					t.Errorf("after a restart the proxy asked the CA's %s again (%d, then %d)", ep, before[ep], after[ep])
				}
			}
		})
	}
}

// TestACMEUnknownHostNoFiles: with ACME alone, a handshake naming a host
// that is not among its hosts fails without asking the CA.
func TestACMEUnknownHostNoFiles(t *testing.T) {
	ca := acmetest.New(t, acmetest.Options{ResolveTLS: func(string) (string, bool) { return "", false }})
	p := startProxy(t, Options{DefaultService: "web", TLS: &TLSOptions{
		ACME: &ACMEOptions{Hosts: []string{"app.test"}, CacheDir: t.TempDir(), DirectoryURL: ca.DirectoryURL()},
	}})
	if _, err := acmeClient(t, p.Addr(), ca.Roots(), false).Get("https://evil.test/"); err == nil {
		t.Fatal("a handshake for a host outside ACME's succeeded")
	}
	if n := ca.Requests()["newOrder"]; n != 0 {
		t.Errorf("the CA got %d orders, want none", n)
	}
}
