package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// writeCert makes a self-signed certificate for 127.0.0.1 named name, writes
// it and its key as PEM files in dir, and returns it.
func writeCert(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", "CERTIFICATE", der)
	write("key.pem", "EC PRIVATE KEY", kb)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsClient returns a client trusting certs, speaking HTTP/2 when h2.
func tlsClient(t *testing.T, h2 bool, certs ...*x509.Certificate) (*http.Client, *http.Transport) {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, tr
}

// TestTLSListener: the production listener speaks HTTPS, over HTTP/1.1 (the
// front end) and HTTP/2 (net/http), instances see X-Forwarded-Proto https;
// a reloaded certificate reaches new connections while open ones go on;
// the redirect listener sends plain HTTP to HTTPS.
func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, "first")
	inst := newBackend(t, "inst", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.Header.Get("X-Forwarded-Proto"))
	})
	p := startProxy(t, Options{TLS: &TLSOptions{
		CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"), RedirectAddr: "127.0.0.1:0",
	}})
	mustSetup(t, p, []string{inst.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	url := "https://" + p.Addr() + "/x?y=1"

	for _, tt := range []struct {
		h2        bool
		wantProto string
	}{{false, "HTTP/1.1"}, {true, "HTTP/2.0"}} {
		c, _ := tlsClient(t, tt.h2, first)
		res, err := c.Get(url)
		if err != nil {
			t.Fatalf("h2=%v: %v", tt.h2, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.Proto != tt.wantProto || string(body) != "HTTP/1.1 https" {
			t.Errorf("h2=%v: %s %q, want %s and the instance seeing %q", tt.h2, res.Proto, body, tt.wantProto, "HTTP/1.1 https")
		}
	}

	// A connection open before the reload goes on with the old certificate.
	old, oldTr := tlsClient(t, false, first)
	if status, _ := getWith(t, old, url); status != http.StatusOK {
		t.Fatalf("before reload: %d", status)
	}
	second := writeCert(t, dir, "second")
	if err := p.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	if status, _ := getWith(t, old, url); status != http.StatusOK {
		t.Errorf("connection open before the reload: %d", status)
	}
	oldTr.CloseIdleConnections()
	c, _ := tlsClient(t, false, second)
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("after reload, trusting the new certificate: %v", err)
	}
	res.Body.Close()
	if cn := res.TLS.PeerCertificates[0].Subject.CommonName; cn != "second" {
		t.Errorf("certificate after reload: %q, want second", cn)
	}

	// A bad file keeps the certificate in use.
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("junk"), 0o600)
	if err := p.ReloadCertificate(); err == nil {
		t.Error("reloading a junk certificate succeeded")
	}
	if _, err := c.Get(url); err != nil {
		t.Errorf("after a failed reload: %v", err)
	}

	// The redirect listener.
	res, err = c.Get("http://" + p.addr("redirect") + "/a/b?c=d")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, port, _ := net.SplitHostPort(p.Addr())
	want := "https://127.0.0.1:" + port + "/a/b?c=d"
	if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
		t.Errorf("redirect: %d %q, want 308 %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}

func getWith(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestTLSOptionsValidation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tls   TLSOptions
		field string
	}{
		{TLSOptions{KeyFile: "k"}, "Options.TLS.CertFile"},
		{TLSOptions{CertFile: "c"}, "Options.TLS.KeyFile"},
		{TLSOptions{CertFile: filepath.Join(dir, "none"), KeyFile: filepath.Join(dir, "none")}, "Options.TLS"},
		{TLSOptions{CertFile: "c", KeyFile: "k", RedirectAddr: "80"}, "Options.TLS.RedirectAddr"},
		{TLSOptions{}, "Options.TLS"},
		{TLSOptions{ACME: &ACMEOptions{CacheDir: dir}}, "Options.TLS.ACME.Hosts"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"app.example.com"}}}, "Options.TLS.ACME.CacheDir"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"*.example.com"}, CacheDir: dir}}, "Options.TLS.ACME.Hosts[0]"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"app.example.com", "10.0.0.1"}, CacheDir: dir}}, "Options.TLS.ACME.Hosts[1]"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"app.example.com:443"}, CacheDir: dir}}, "Options.TLS.ACME.Hosts[0]"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"https://app.example.com"}, CacheDir: dir}}, "Options.TLS.ACME.Hosts[0]"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"-bad.example.com"}, CacheDir: dir}}, "Options.TLS.ACME.Hosts[0]"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"app.example.com"}, CacheDir: dir, DirectoryURL: "acme.example.com/dir"}}, "Options.TLS.ACME.DirectoryURL"},
		{TLSOptions{ACME: &ACMEOptions{Hosts: []string{"app.example.com"}, CacheDir: filepath.Join(dir, "file", "sub")}}, "Options.TLS.ACME.CacheDir"},
	} {
		_, err := New(Options{TLS: &tt.tls})
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("New(TLS %+v) = %v, want an error naming %s", tt.tls, err, tt.field)
		}
	}
}
