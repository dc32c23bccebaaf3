package acmetest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/acmetest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

const errPrefix = "urn:ietf:params:acme:error:"

var b64 = base64.RawURLEncoding

// hosts is a concurrency-safe name → address map, for Options.Resolve*.
type hosts struct {
	mu sync.Mutex
	m  map[string]string
}

func (h *hosts) set(host, addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]string{}
	}
	h.m[host] = addr
}

func (h *hosts) resolve(host string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	addr, ok := h.m[host]
	return addr, ok && addr != ""
}

// validation is a Validation with its error reduced to the problem type.
type validation struct{ Host, Challenge, Addr, Problem string }

func summarize(vs []acmetest.Validation) []validation {
	var out []validation
	for _, v := range vs {
		s := validation{Host: v.Host, Challenge: v.Challenge, Addr: v.Addr}
		var p *acmetest.Problem
		if errors.As(v.Err, &p) {
			s.Problem = p.Type
		} else if v.Err != nil {
			s.Problem = v.Err.Error()
		}
		out = append(out, s)
	}
	return out
}

func pick(m map[string]int, keys ...string) map[string]int {
	out := map[string]int{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveHTTPS serves hello on ln over TLS configured by m, as a proxy would.
func serveHTTPS(t *testing.T, ln net.Listener, m *autocert.Manager) {
	srv := &http.Server{
		TLSConfig: m.TLSConfig(),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello "+r.Host)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
}

// get fetches https://app.test/ from addr, verifying the server's
// certificate against roots.
func get(ctx context.Context, t *testing.T, addr string, roots *x509.CertPool, rsaOnly bool) *http.Response {
	t.Helper()
	cfg := &tls.Config{ServerName: "app.test", RootCAs: roots}
	if rsaOnly { // autocert then picks an RSA certificate
		cfg.MaxVersion = tls.VersionTLS12
		cfg.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	}
	tr := &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", "https://app.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET https://app.test/ at %s: %v", addr, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello app.test" {
		t.Fatalf("GET https://app.test/: %s %q", resp.Status, body)
	}
	return resp
}

// TestAutocert has autocert obtain a certificate from the CA on the first
// handshake, and a manager restarted on the same cache serve it without
// contacting the CA.
func TestAutocert(t *testing.T) {
	tests := []struct {
		name        string
		challenges  []string // offered by the CA; nil: both
		httpHandler bool     // autocert's HTTPHandler serves http-01 (and so autocert will try it)
		noTLSRoute  bool     // tls-alpn-01 cannot reach the TLS listener
		rsaClient   bool
		want        []string // challenge types validated, in order
		wantOrders  int
	}{
		{name: "tls-alpn-01", challenges: []string{acmetest.ChallengeTLSALPN01},
			want: []string{"tls-alpn-01"}, wantOrders: 1},
		{name: "http-01", challenges: []string{acmetest.ChallengeHTTP01}, httpHandler: true,
			want: []string{"http-01"}, wantOrders: 1},
		{name: "both offered, autocert prefers tls-alpn-01", httpHandler: true,
			want: []string{"tls-alpn-01"}, wantOrders: 1},
		{name: "tls-alpn-01 fails, autocert falls back to http-01 in a new order", httpHandler: true, noTLSRoute: true,
			want: []string{"tls-alpn-01", "http-01"}, wantOrders: 2},
		{name: "RSA certificate for a client without ECDSA", challenges: []string{acmetest.ChallengeTLSALPN01}, rsaClient: true,
			want: []string{"tls-alpn-01"}, wantOrders: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var tlsHosts, httpHosts hosts
			ca := acmetest.New(t, acmetest.Options{
				ResolveTLS: tlsHosts.resolve, ResolveHTTP: httpHosts.resolve, Challenges: tc.challenges,
			})
			cacheDir := t.TempDir()
			newManager := func() *autocert.Manager {
				return &autocert.Manager{
					Prompt:     autocert.AcceptTOS,
					HostPolicy: autocert.HostWhitelist("app.test"),
					Cache:      autocert.DirCache(cacheDir),
					Client:     &acme.Client{DirectoryURL: ca.DirectoryURL()},
				}
			}
			m := newManager()
			tlsLn := listen(t)
			if !tc.noTLSRoute {
				tlsHosts.set("app.test", tlsLn.Addr().String())
			}
			var want []validation
			for _, typ := range tc.want {
				v := validation{Host: "app.test", Challenge: typ}
				if typ == "tls-alpn-01" && tc.noTLSRoute {
					v.Problem = errPrefix + "dns"
				} else if typ == "tls-alpn-01" {
					v.Addr = tlsLn.Addr().String()
				}
				want = append(want, v)
			}
			if tc.httpHandler {
				httpLn := listen(t)
				httpHosts.set("app.test", httpLn.Addr().String())
				srv := &http.Server{Handler: m.HTTPHandler(nil)} // before the first handshake
				go srv.Serve(httpLn)
				t.Cleanup(func() { srv.Close() })
				for i := range want {
					if want[i].Challenge == "http-01" {
						want[i].Addr = httpLn.Addr().String()
					}
				}
			}
			serveHTTPS(t, tlsLn, m)

			resp := get(ctx, t, tlsLn.Addr().String(), ca.Roots(), tc.rsaClient)
			leaf := resp.TLS.PeerCertificates[0]
			if diff := cmp.Diff(want, summarize(ca.Validations())); diff != "" {
				t.Errorf("validations (-want +got):\n%s", diff)
			}
			issued := ca.Issued()
			if len(issued) != 1 || !issued[0].Equal(leaf) {
				t.Fatalf("issued %d certificates, the server's not among them", len(issued))
			}
			wantKey := "*ecdsa.PublicKey"
			if tc.rsaClient {
				wantKey = "*rsa.PublicKey"
			}
			got := map[string]any{
				"names": leaf.DNSNames, "chain": len(resp.TLS.VerifiedChains[0]),
				"key": fmt.Sprintf("%T", leaf.PublicKey), "lifetime": leaf.NotAfter.Sub(leaf.NotBefore),
			}
			wantCert := map[string]any{"names": []string{"app.test"}, "chain": 3, "key": wantKey, "lifetime": 90 * 24 * time.Hour}
			if diff := cmp.Diff(wantCert, got); diff != "" {
				t.Errorf("certificate (-want +got):\n%s", diff)
			}
			keys := []string{"directory", "newAccount", "newOrder", "challenge", "finalize", "certificate"}
			before := pick(ca.Requests(), keys...)
			wantReqs := map[string]int{"directory": 1, "newAccount": 1, "newOrder": tc.wantOrders,
				"challenge": tc.wantOrders, "finalize": 1, "certificate": 1}
			if diff := cmp.Diff(wantReqs, before); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}

			// A restart: a new manager on the same cache, a new listener.
			ln2 := listen(t)
			serveHTTPS(t, ln2, newManager())
			resp = get(ctx, t, ln2.Addr().String(), ca.Roots(), tc.rsaClient)
			if !resp.TLS.PeerCertificates[0].Equal(leaf) {
				t.Error("the restarted manager serves another certificate")
			}
			if diff := cmp.Diff(before, pick(ca.Requests(), keys...)); diff != "" {
				t.Errorf("the restarted manager contacted the CA (-before +after):\n%s", diff)
			}
		})
	}
}

// rawClient speaks ACME with hand-made JWS, to send what acme.Client won't.
type rawClient struct {
	t     *testing.T
	ca    *acmetest.CA
	dir   struct{ NewNonce, NewAccount, NewOrder string }
	hc    http.Client
	nonce func() string
}

func newRawClient(ctx context.Context, t *testing.T, ca *acmetest.CA) *rawClient {
	c := &rawClient{t: t, ca: ca}
	resp, err := c.hc.Get(ca.DirectoryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&c.dir); err != nil {
		t.Fatal(err)
	}
	c.nonce = func() string {
		req, _ := http.NewRequestWithContext(ctx, "HEAD", c.dir.NewNonce, nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Replay-Nonce")
	}
	return c
}

// msg is a request to send: a JWS of payload with header hdr, signed by key.
type msg struct {
	method, url, ctype string
	hdr                map[string]any
	payload            string
	key                *ecdsa.PrivateKey
	tamper             bool // corrupt the signature
}

func jwk(k *ecdsa.PrivateKey) map[string]string {
	b, _ := k.PublicKey.Bytes()
	return map[string]string{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(b[1:33]), "y": b64.EncodeToString(b[33:])}
}

// send returns the status, the problem type if any, and the response.
func (c *rawClient) send(ctx context.Context, m msg) (int, string, *http.Response) {
	hb, _ := json.Marshal(m.hdr)
	prot, payload := b64.EncodeToString(hb), b64.EncodeToString([]byte(m.payload))
	d := sha256.Sum256([]byte(prot + "." + payload))
	r, s, err := ecdsa.Sign(rand.Reader, m.key, d[:])
	if err != nil {
		c.t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	if m.tamper {
		sig[10] ^= 1
	}
	body, _ := json.Marshal(map[string]string{"protected": prot, "payload": payload, "signature": b64.EncodeToString(sig)})
	req, _ := http.NewRequestWithContext(ctx, m.method, m.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", m.ctype)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Type string }
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		json.NewDecoder(resp.Body).Decode(&p)
	}
	return resp.StatusCode, p.Type, resp
}

// register creates an account for key and returns its URL.
func (c *rawClient) register(ctx context.Context, key *ecdsa.PrivateKey) string {
	status, typ, resp := c.send(ctx, msg{method: "POST", url: c.dir.NewAccount, ctype: "application/jose+json", key: key,
		hdr:     map[string]any{"alg": "ES256", "jwk": jwk(key), "nonce": c.nonce(), "url": c.dir.NewAccount},
		payload: `{"termsOfServiceAgreed":true,"contact":["mailto:ops@app.test"]}`})
	if status != 201 {
		c.t.Fatalf("newAccount: %d %s", status, typ)
	}
	return resp.Header.Get("Location")
}

// TestJWSRefused sends POST-as-GET requests for an account that break one
// rule of RFC 8555 section 6 each.
func TestJWSRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ca := acmetest.New(t, acmetest.Options{})
	c := newRawClient(ctx, t, ca)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	acct, otherAcct := c.register(ctx, key), c.register(ctx, otherKey)
	valid := func() msg {
		return msg{method: "POST", url: acct, ctype: "application/jose+json", key: key,
			hdr: map[string]any{"alg": "ES256", "kid": acct, "nonce": c.nonce(), "url": acct}}
	}
	used := valid()
	if status, typ, _ := c.send(ctx, used); status != 200 {
		t.Fatalf("valid request: %d %s", status, typ)
	}
	newOrder := valid()
	newOrder.url, newOrder.hdr["url"], newOrder.payload = c.dir.NewOrder, c.dir.NewOrder, `{"identifiers":[{"type":"dns","value":"app.test"}]}`
	status, typ, resp := c.send(ctx, newOrder)
	order := resp.Header.Get("Location")
	if status != 201 || order == "" {
		t.Fatalf("newOrder: %d %s", status, typ)
	}
	tests := []struct {
		name       string
		edit       func(m *msg)
		wantStatus int
		wantType   string // without errPrefix; "" for success
	}{
		{"valid", func(m *msg) {}, 200, ""},
		{"bad signature", func(m *msg) { m.tamper = true }, 400, "malformed"},
		{"signed by another key", func(m *msg) { m.key = otherKey }, 400, "malformed"},
		{"reused nonce", func(m *msg) { m.hdr["nonce"] = used.hdr["nonce"] }, 400, "badNonce"},
		{"nonce not issued", func(m *msg) { m.hdr["nonce"] = "bm9uY2U" }, 400, "badNonce"},
		{"no nonce", func(m *msg) { delete(m.hdr, "nonce") }, 400, "badNonce"},
		{"url header of another resource", func(m *msg) { m.hdr["url"] = otherAcct }, 401, "unauthorized"},
		{"no url header", func(m *msg) { delete(m.hdr, "url") }, 401, "unauthorized"},
		{"alg none", func(m *msg) { m.hdr["alg"] = "none" }, 400, "badSignatureAlgorithm"},
		{"alg RS256 with an EC key", func(m *msg) { m.hdr["alg"] = "RS256" }, 400, "malformed"},
		{"jwk and kid", func(m *msg) { m.hdr["jwk"] = jwk(key) }, 400, "malformed"},
		{"jwk instead of kid", func(m *msg) { delete(m.hdr, "kid"); m.hdr["jwk"] = jwk(key) }, 400, "malformed"},
		{"unknown kid", func(m *msg) { m.hdr["kid"] = acct + "0" }, 400, "accountDoesNotExist"},
		{"another account's resource", func(m *msg) { m.url, m.hdr["url"] = otherAcct, otherAcct }, 403, "unauthorized"},
		{"Content-Type application/json", func(m *msg) { m.ctype = "application/json" }, 415, "malformed"},
		{"GET", func(m *msg) { m.method = "GET" }, 405, "malformed"},
		{"unknown URL", func(m *msg) { m.url += "/x"; m.hdr["url"] = m.url }, 404, "malformed"},
		{"POST to newNonce", func(m *msg) { m.url, m.hdr["url"] = c.dir.NewNonce, c.dir.NewNonce }, 405, "malformed"},
		{"payload to an order", func(m *msg) { m.url, m.hdr["url"], m.payload = order, order, "{}" }, 400, "malformed"},
		{"order for a wildcard", func(m *msg) {
			m.url, m.hdr["url"], m.payload = c.dir.NewOrder, c.dir.NewOrder, `{"identifiers":[{"type":"dns","value":"*.app.test"}]}`
		}, 400, "rejectedIdentifier"},
		{"order for an IP address", func(m *msg) {
			m.url, m.hdr["url"], m.payload = c.dir.NewOrder, c.dir.NewOrder, `{"identifiers":[{"type":"ip","value":"127.0.0.1"}]}`
		}, 400, "unsupportedIdentifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.edit(&m)
			status, typ, resp := c.send(ctx, m)
			want := ""
			if tc.wantType != "" {
				want = errPrefix + tc.wantType
			}
			if status != tc.wantStatus || typ != want {
				t.Errorf("got %d %q, want %d %q", status, typ, tc.wantStatus, want)
			}
			if resp.Header.Get("Replay-Nonce") == "" || resp.Header.Get("Link") == "" {
				t.Errorf("response lacks Replay-Nonce or Link: %v", resp.Header)
			}
		})
	}
}

// challengeServer answers a challenge at an address, or returns "" (the
// name does not resolve).
type challengeServer func(t *testing.T, cl *acme.Client, token string) string

// serveTLSALPN answers TLS handshakes with cert, negotiating protos.
func serveTLSALPN(t *testing.T, cert tls.Certificate, protos []string) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				conn.(*tls.Conn).Handshake()
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// alpnCert is the proper tls-alpn-01 answer for token and name.
func alpnCert(t *testing.T, cl *acme.Client, token, name string) tls.Certificate {
	cert, err := cl.TLSALPN01ChallengeCert(token, name)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// selfSigned is a self-signed certificate for name with extensions exts.
func selfSigned(t *testing.T, name string, exts ...pkix.Extension) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtraExtensions: exts}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveHTTP01 answers the token's path, when asked for app.test, with body.
func serveHTTP01(t *testing.T, cl *acme.Client, token, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.test" || r.URL.Path != cl.HTTP01ChallengePath(token) {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func keyAuth(t *testing.T, cl *acme.Client, token string) string {
	ka, err := cl.HTTP01ChallengeResponse(token)
	if err != nil {
		t.Fatal(err)
	}
	return ka
}

// authorize registers a client, orders app.test and has the CA validate
// the challenge of type typ answered by serve. It returns the client, the
// order and the error of waiting for the authorization.
func authorize(ctx context.Context, t *testing.T, typ string, serve challengeServer) (*acmetest.CA, *acme.Client, *acme.Order, string, error) {
	var names hosts
	ca := acmetest.New(t, acmetest.Options{Challenges: []string{typ}, ResolveTLS: names.resolve, ResolveHTTP: names.resolve})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cl := &acme.Client{Key: key, DirectoryURL: ca.DirectoryURL()}
	if _, err := cl.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatal(err)
	}
	o, err := cl.AuthorizeOrder(ctx, acme.DomainIDs("app.test"))
	if err != nil {
		t.Fatal(err)
	}
	z, err := cl.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(z.Challenges) != 1 || z.Challenges[0].Type != typ || len(z.Challenges[0].Token) != 43 {
		t.Fatalf("challenges: %+v", z.Challenges)
	}
	addr := serve(t, cl, z.Challenges[0].Token)
	names.set("app.test", addr)
	if _, err := cl.Accept(ctx, z.Challenges[0]); err != nil {
		t.Fatal(err)
	}
	_, err = cl.WaitAuthorization(ctx, z.URI)
	return ca, cl, o, addr, err
}

// TestValidation has the CA validate good and bad challenge answers.
func TestValidation(t *testing.T) {
	const alpn, h01 = acmetest.ChallengeTLSALPN01, acmetest.ChallengeHTTP01
	acmeTLS := []string{acme.ALPNProto}
	tests := []struct {
		name     string
		typ      string
		serve    challengeServer
		wantType string // "" for success
	}{
		{"tls-alpn-01", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			return serveTLSALPN(t, alpnCert(t, cl, token, "app.test"), acmeTLS)
		}, ""},
		{"tls-alpn-01 certificate without acmeIdentifier", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			return serveTLSALPN(t, selfSigned(t, "app.test"), acmeTLS)
		}, "unauthorized"},
		{"tls-alpn-01 acmeIdentifier not critical", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			digest := sha256.Sum256([]byte(keyAuth(t, cl, token)))
			value, _ := asn1.Marshal(digest[:])
			ext := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}, Value: value}
			return serveTLSALPN(t, selfSigned(t, "app.test", ext), acmeTLS)
		}, "unauthorized"},
		{"tls-alpn-01 digest of another token", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			return serveTLSALPN(t, alpnCert(t, cl, token+"x", "app.test"), acmeTLS)
		}, "unauthorized"},
		{"tls-alpn-01 certificate for another name", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			return serveTLSALPN(t, alpnCert(t, cl, token, "other.test"), acmeTLS)
		}, "unauthorized"},
		{"tls-alpn-01 server without ALPN", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			return serveTLSALPN(t, alpnCert(t, cl, token, "app.test"), nil)
		}, "unauthorized"},
		{"tls-alpn-01 server with other protocols only", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			return serveTLSALPN(t, alpnCert(t, cl, token, "app.test"), []string{"h2"})
		}, "tls"},
		{"tls-alpn-01 nothing listening", alpn, func(t *testing.T, cl *acme.Client, token string) string {
			ln := listen(t)
			ln.Close()
			return ln.Addr().String()
		}, "connection"},
		{"tls-alpn-01 name not resolved", alpn, func(*testing.T, *acme.Client, string) string { return "" }, "dns"},
		{"http-01", h01, func(t *testing.T, cl *acme.Client, token string) string {
			return serveHTTP01(t, cl, token, keyAuth(t, cl, token)+"\n")
		}, ""},
		{"http-01 wrong body", h01, func(t *testing.T, cl *acme.Client, token string) string {
			return serveHTTP01(t, cl, token, token)
		}, "unauthorized"},
		{"http-01 not found", h01, func(t *testing.T, cl *acme.Client, token string) string {
			return serveHTTP01(t, cl, "other", keyAuth(t, cl, token))
		}, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			ca, cl, o, addr, err := authorize(ctx, t, tc.typ, tc.serve)
			var got struct{ Problem, Order string }
			var ae *acme.AuthorizationError
			if errors.As(err, &ae) && len(ae.Errors) == 1 {
				var e *acme.Error
				if errors.As(ae.Errors[0], &e) {
					got.Problem = e.ProblemType
				}
			} else if err != nil {
				t.Fatalf("WaitAuthorization: %v", err)
			}
			o, err = cl.GetOrder(ctx, o.URI)
			if err != nil {
				t.Fatal(err)
			}
			got.Order = o.Status
			want := struct{ Problem, Order string }{"", "ready"}
			if tc.wantType != "" {
				want = struct{ Problem, Order string }{errPrefix + tc.wantType, "invalid"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			wantV := []validation{{Host: "app.test", Challenge: tc.typ, Addr: addr, Problem: want.Problem}}
			if diff := cmp.Diff(wantV, summarize(ca.Validations())); diff != "" {
				t.Errorf("validations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFinalize sends CSRs for an order of app.test.
func TestFinalize(t *testing.T) {
	certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name     string
		validate bool     // answer the challenge first
		names    []string // in the CSR; the first is also the common name
		key      func(cl *acme.Client) crypto.Signer
		wantType string // "" for success
	}{
		{"valid", true, []string{"app.test"}, nil, ""},
		{"another host", true, []string{"other.test"}, nil, "badCSR"},
		{"an extra host", true, []string{"app.test", "other.test"}, nil, "badCSR"},
		{"the account key", true, []string{"app.test"}, func(cl *acme.Client) crypto.Signer { return cl.Key }, "badCSR"},
		{"order not ready", false, []string{"app.test"}, nil, "orderNotReady"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			ca, cl, o, _, err := authorize(ctx, t, acmetest.ChallengeTLSALPN01, func(t *testing.T, cl *acme.Client, token string) string {
				if !tc.validate {
					return "" // the authorization fails; the order is not ready
				}
				return serveTLSALPN(t, alpnCert(t, cl, token, "app.test"), []string{acme.ALPNProto})
			})
			if tc.validate && err != nil {
				t.Fatal(err)
			}
			var key crypto.Signer = certKey
			if tc.key != nil {
				key = tc.key(cl)
			}
			csr, err := x509.CreateCertificateRequest(rand.Reader,
				&x509.CertificateRequest{Subject: pkix.Name{CommonName: tc.names[0]}, DNSNames: tc.names}, key)
			if err != nil {
				t.Fatal(err)
			}
			chain, _, err := cl.CreateCertFromOrder(ctx, o, csr, true)
			var e *acme.Error
			if tc.wantType == "" {
				if err != nil {
					t.Fatal(err)
				}
				leaf, err := x509.ParseCertificate(chain[0])
				if err != nil {
					t.Fatal(err)
				}
				inter, _ := x509.ParseCertificate(chain[1])
				pool := x509.NewCertPool()
				pool.AddCert(inter)
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "app.test", Roots: ca.Roots(), Intermediates: pool}); err != nil {
					t.Error(err)
				}
				if len(chain) != 2 || len(ca.Issued()) != 1 {
					t.Errorf("chain of %d, %d issued", len(chain), len(ca.Issued()))
				}
			} else if !errors.As(err, &e) || e.ProblemType != errPrefix+tc.wantType {
				t.Errorf("got %v, want %s", err, tc.wantType)
			} else if len(ca.Issued()) != 0 {
				t.Error("issued a certificate")
			}
		})
	}
}
