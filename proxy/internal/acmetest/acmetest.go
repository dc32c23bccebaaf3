// Package acmetest is an in-process ACME certificate authority (RFC 8555)
// for offline tests. It serves ACME over plain HTTP on loopback, checks every
// request as a real CA would (JWS signatures, one-time nonces, URL binding,
// account ownership, CSR contents), really validates tls-alpn-01 (RFC 8737)
// and http-01 challenges by connecting to addresses the test supplies, and
// issues certificates chaining to a root of its own, so that a client such as
// golang.org/x/crypto/acme/autocert gets a certificate exactly as it would
// from Let's Encrypt, and a TLS client trusting Roots verifies it.
//
// Differences from a production CA, all on the side of simplicity: every
// order gets fresh authorizations (none are reused), a challenge is
// validated synchronously while its POST is answered (so clients never wait
// for a poll), http-01 redirects are not followed, and there are no rate
// limits, profiles or external account binding.
package acmetest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Challenge types the CA can offer, as named in RFC 8555 and RFC 8737.
const (
	ChallengeTLSALPN01 = "tls-alpn-01"
	ChallengeHTTP01    = "http-01"
)

const (
	acmeTLS1          = "acme-tls/1" // ALPN protocol of tls-alpn-01 validation
	errPrefix         = "urn:ietf:params:acme:error:"
	maxBody           = 64 << 10
	validationTimeout = 10 * time.Second
	statusPending     = "pending"
	statusProcessing  = "processing"
	statusReady       = "ready"
	statusValid       = "valid"
	statusInvalid     = "invalid"
	statusDeactivated = "deactivated"
)

// oidACMEIdentifier is id-pe-acmeIdentifier, the certificate extension
// carrying the key authorization digest in tls-alpn-01 (RFC 8737 section 6.1).
var oidACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// Options configure a CA. The zero value offers both challenges but can
// validate none, having nowhere to connect.
type Options struct {
	// ResolveTLS maps a host name being validated with tls-alpn-01 to the
	// address (host:port) to dial: the TLS listener that would be on port
	// 443 in real life. A false ok fails the validation with a dns error.
	ResolveTLS func(host string) (addr string, ok bool)
	// ResolveHTTP does the same for http-01: the plain HTTP listener that
	// would be on port 80. The request still carries Host: host, no port.
	ResolveHTTP func(host string) (addr string, ok bool)
	// Challenges are the challenge types each authorization offers, in
	// order; nil means both. (autocert picks by its own preference, not by
	// this order: see the package tests.)
	Challenges []string
	// CertLifetime is the validity of issued certificates, counted from a
	// minute before issuance; zero means 90 days, as Let's Encrypt.
	CertLifetime time.Duration
}

// Validation records one challenge validation the CA performed, so that
// tests can assert which method proved control of which name.
type Validation struct {
	Host      string // the identifier validated
	Challenge string // ChallengeTLSALPN01 or ChallengeHTTP01
	Addr      string // the address dialled, "" if the host did not resolve
	Err       error  // nil if the validation succeeded, else a *Problem
}

// Problem is an RFC 7807 problem document with an ACME error type, the body
// of every error response and the error of a failed Validation.
type Problem struct {
	Type       string   `json:"type"` // urn:ietf:params:acme:error:...
	Detail     string   `json:"detail,omitempty"`
	Status     int      `json:"status,omitempty"`
	Algorithms []string `json:"algorithms,omitempty"` // with badSignatureAlgorithm
}

// Error returns the type and the detail.
func (p *Problem) Error() string { return p.Type + ": " + p.Detail }

func problem(status int, typ, format string, args ...any) *Problem {
	return &Problem{Type: errPrefix + typ, Detail: fmt.Sprintf(format, args...), Status: status}
}

func malformed(format string, args ...any) *Problem {
	return problem(400, "malformed", format, args...)
}

// CA is a running ACME server. Its methods are safe for concurrent use.
type CA struct {
	opts           Options
	base           string // http://127.0.0.1:port
	root, inter    *x509.Certificate
	interKey       crypto.Signer
	client         *http.Client // for http-01
	mu             sync.Mutex
	seq            int
	nonces         map[string]bool
	accounts       map[string]*account // by URL
	byThumb        map[string]*account // by key thumbprint
	orders         map[string]*order
	authzs         map[string]*authz
	chals          map[string]*challenge
	certs          map[string]*certificate
	issued         []*x509.Certificate
	validations    []Validation
	requests       map[string]int
	challengeTypes []string
}

// New starts a CA serving ACME over HTTP on 127.0.0.1 and stops it when the
// test ends. It fails the test on bad options.
func New(t testing.TB, opts Options) *CA {
	t.Helper()
	if opts.Challenges == nil {
		opts.Challenges = []string{ChallengeTLSALPN01, ChallengeHTTP01}
	}
	for _, typ := range opts.Challenges {
		if typ != ChallengeTLSALPN01 && typ != ChallengeHTTP01 {
			t.Fatalf("acmetest: unsupported challenge type %q", typ)
		}
	}
	if len(opts.Challenges) == 0 || opts.CertLifetime < 0 {
		t.Fatalf("acmetest: need a challenge type and a non-negative lifetime")
	}
	if opts.CertLifetime == 0 {
		opts.CertLifetime = 90 * 24 * time.Hour
	}
	c := &CA{
		opts: opts, challengeTypes: slices.Clone(opts.Challenges),
		nonces: map[string]bool{}, accounts: map[string]*account{}, byThumb: map[string]*account{},
		orders: map[string]*order{}, authzs: map[string]*authz{}, chals: map[string]*challenge{},
		certs: map[string]*certificate{}, requests: map[string]int{},
		client: &http.Client{
			Transport:     &http.Transport{DisableKeepAlives: true}, // no proxy
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if err := c.makeIssuers(); err != nil {
		t.Fatalf("acmetest: %v", err)
	}
	srv := httptest.NewUnstartedServer(c.routes())
	c.base = "http://" + srv.Listener.Addr().String()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		c.client.CloseIdleConnections()
	})
	return c
}

// DirectoryURL is the ACME directory, for acme.Client.DirectoryURL.
func (c *CA) DirectoryURL() string { return c.base + "/dir" }

// Roots returns a new pool holding the root that issued certificates chain
// to (through an intermediate that the CA sends with each), for the RootCAs
// of clients that must verify them.
func (c *CA) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(c.root)
	return pool
}

// Issued returns the leaf certificates issued so far, in order.
func (c *CA) Issued() []*x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.issued)
}

// Validations returns the challenge validations performed so far, in order.
func (c *CA) Validations() []Validation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.validations)
}

// Requests returns how many requests each endpoint has had, refused ones
// included, so a test can prove a client did (not) contact the CA. The keys
// are "directory", "newNonce", "newAccount", "newOrder", "account", "order",
// "finalize", "authz", "challenge", "certificate", "terms", "revoke-cert"
// and "key-change" (both refused) and "unknown" (any other URL).
func (c *CA) Requests() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.requests)
}

// makeIssuers creates the root and the intermediate that signs leaves.
func (c *CA) makeIssuers() error {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now, id := time.Now(), randomString(4)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acmetest root " + id},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(c.opts.CertLifetime + 365*24*time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rootKey.Public(), rootKey)
	if err == nil {
		c.root, err = x509.ParseCertificate(der)
	}
	if err != nil {
		return err
	}
	tmpl.SerialNumber, tmpl.Subject.CommonName, tmpl.MaxPathLenZero = big.NewInt(2), "acmetest intermediate "+id, true
	der, err = x509.CreateCertificate(rand.Reader, tmpl, c.root, interKey.Public(), rootKey)
	if err == nil {
		c.inter, err = x509.ParseCertificate(der)
	}
	c.interKey = interKey
	return err
}

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64.EncodeToString(b)
}

// The resources. Each knows its URL and the account that owns it; the
// exported fields are the JSON the CA sends.
type (
	account struct {
		url, thumb           string
		key                  crypto.PublicKey
		Status               string   `json:"status"`
		Contact              []string `json:"contact,omitempty"`
		TermsOfServiceAgreed bool     `json:"termsOfServiceAgreed"`
		Orders               string   `json:"orders"`
	}
	identifier struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	order struct {
		url            string
		acct           *account
		authzs         []*authz
		Status         string       `json:"status"`
		Expires        time.Time    `json:"expires"`
		Identifiers    []identifier `json:"identifiers"`
		Authorizations []string     `json:"authorizations"`
		Finalize       string       `json:"finalize"`
		Certificate    string       `json:"certificate,omitempty"`
		Error          *Problem     `json:"error,omitempty"`
	}
	authz struct {
		url        string
		acct       *account
		order      *order
		Identifier identifier   `json:"identifier"`
		Status     string       `json:"status"`
		Expires    time.Time    `json:"expires"`
		Challenges []*challenge `json:"challenges"`
	}
	challenge struct {
		acct      *account
		authz     *authz
		Type      string     `json:"type"`
		URL       string     `json:"url"`
		Token     string     `json:"token"`
		Status    string     `json:"status"`
		Validated *time.Time `json:"validated,omitempty"`
		Error     *Problem   `json:"error,omitempty"`
	}
	certificate struct {
		acct  *account
		chain [][]byte // leaf, intermediate
		leaf  *x509.Certificate
	}
)

func (a *account) owner() *account     { return a }
func (o *order) owner() *account       { return o.acct }
func (z *authz) owner() *account       { return z.acct }
func (ch *challenge) owner() *account  { return ch.acct }
func (t *certificate) owner() *account { return t.acct }

// find looks a resource up by URL for acct, which must own it. c.mu is held.
func find[T interface{ owner() *account }](m map[string]T, url string, acct *account) (T, *Problem) {
	v, ok := m[url]
	if !ok {
		return v, problem(404, "malformed", "no such resource %s", url)
	}
	if v.owner() != acct {
		return v, problem(403, "unauthorized", "%s belongs to another account", url)
	}
	return v, nil
}

// update moves a pending order to ready once all its authorizations are
// valid, or to invalid as soon as one is not valid or pending.
func (o *order) update() {
	if o.Status != statusPending {
		return
	}
	ready := true
	for _, z := range o.authzs {
		switch z.Status {
		case statusValid:
		case statusPending:
			ready = false
		default:
			o.Status = statusInvalid
			o.Error = problem(403, "unauthorized", "authorization for %s is %s", z.Identifier.Value, z.Status)
			return
		}
	}
	if ready {
		o.Status = statusReady
	}
}

// reply is a response, built while c.mu is held and written after.
type reply struct {
	status       int
	ctype        string
	body         []byte
	location, up string
	allow        string // the method allowed, with 405
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return problem(500, "serverInternal", "%v", err).reply()
	}
	return reply{status: status, ctype: "application/json", body: b}
}

func (p *Problem) reply() reply {
	b, _ := json.Marshal(p)
	return reply{status: p.Status, ctype: "application/problem+json", body: b}
}

func (r reply) at(location string) reply { r.location = location; return r }

// routes maps the URLs the directory names (and the resources' URLs) to
// handlers, counting requests and adding a fresh Replay-Nonce and the index
// link to every response.
func (c *CA) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern, name string, h func(*http.Request) reply) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c.mu.Lock()
			c.requests[name]++
			nonce := randomString(16)
			c.nonces[nonce] = true
			c.mu.Unlock()
			w.Header().Set("Replay-Nonce", nonce)
			w.Header().Set("Cache-Control", "no-store")
			if name != "directory" {
				w.Header().Add("Link", "<"+c.DirectoryURL()+`>;rel="index"`)
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			rep := h(r)
			if rep.location != "" {
				w.Header().Set("Location", rep.location)
			}
			if rep.up != "" {
				w.Header().Add("Link", "<"+rep.up+`>;rel="up"`)
			}
			if rep.allow != "" {
				w.Header().Set("Allow", rep.allow)
			}
			if rep.ctype != "" {
				w.Header().Set("Content-Type", rep.ctype)
			}
			w.WriteHeader(rep.status)
			w.Write(rep.body)
		})
	}
	handle("GET /dir", "directory", func(*http.Request) reply {
		return jsonReply(200, map[string]any{
			"newNonce": c.base + "/nonce", "newAccount": c.base + "/new-account",
			"newOrder": c.base + "/new-order", "revokeCert": c.base + "/revoke-cert",
			"keyChange": c.base + "/key-change", "meta": map[string]any{"termsOfService": c.base + "/terms"},
		})
	})
	handle("GET /terms", "terms", func(*http.Request) reply {
		return reply{status: 200, ctype: "text/plain", body: []byte("acmetest: certificates for tests only\n")}
	})
	handle("GET /nonce", "newNonce", func(r *http.Request) reply {
		if r.Method == http.MethodHead {
			return reply{status: 200}
		}
		return reply{status: 204}
	})
	handle("POST /new-account", "newAccount", c.post(byJWK, c.newAccount))
	handle("POST /new-order", "newOrder", c.post(byKID, c.newOrder))
	// Listed in the directory as RFC 8555 requires; autocert never uses
	// them, and this CA does not offer them.
	for _, name := range []string{"revoke-cert", "key-change"} {
		handle("POST /"+name, name, func(r *http.Request) reply {
			return problem(http.StatusNotImplemented, "malformed", "%s is not offered by this test CA", r.URL.Path).reply()
		})
	}
	handle("POST /acct/{id}", "account", c.post(byKID, c.account))
	handle("POST /order/{id}", "order", c.post(byKID, c.order))
	handle("POST /order/{id}/finalize", "finalize", c.post(byKID, c.finalize))
	handle("POST /authz/{id}", "authz", c.post(byKID, c.authz))
	handle("POST /chal/{id}", "challenge", c.post(byKID, c.challenge))
	handle("POST /cert/{id}", "certificate", c.post(byKID, c.certificate))
	handle("/", "unknown", func(r *http.Request) reply {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			other := r.Clone(r.Context())
			other.Method = method
			if _, pattern := mux.Handler(other); pattern != "/" {
				rep := problem(405, "malformed", "%s %s: use %s (POST-as-GET to read)", r.Method, r.URL.Path, method).reply()
				rep.allow = method
				return rep
			}
		}
		return problem(404, "malformed", "no ACME resource at %s %s", r.Method, r.URL.Path).reply()
	})
	return mux
}

// signer says which key a request must be signed with.
type signer int

const (
	byKID signer = iota // an account's, named by its URL in the kid header
	byJWK               // the one in the jwk header (newAccount)
)

// post wraps a handler of signed POSTs: the request is authenticated
// (RFC 8555 section 6) before h sees it; acct is nil if it was signed by jwk.
func (c *CA) post(by signer, h func(r *http.Request, j *jws, acct *account) reply) func(*http.Request) reply {
	return func(r *http.Request) reply {
		j, acct, p := c.authenticate(r, by)
		if p != nil {
			return p.reply()
		}
		return h(r, j, acct)
	}
}

// authenticate checks a POST: content type, flattened JWS, supported alg,
// url header equal to the request URL, jwk or kid as the resource needs, a
// known account behind the kid, the signature, and lastly the nonce, which
// it consumes.
func (c *CA) authenticate(r *http.Request, by signer) (*jws, *account, *Problem) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/jose+json" {
		return nil, nil, problem(415, "malformed", "Content-Type must be application/jose+json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, malformed("reading the request: %v", err)
	}
	j, p := parseJWS(body)
	if p != nil {
		return nil, nil, p
	}
	if !slices.Contains(algorithms, j.alg) {
		p := problem(400, "badSignatureAlgorithm", "JWS alg %q is not supported", j.alg)
		p.Algorithms = algorithms
		return nil, nil, p
	}
	if want := c.base + r.URL.RequestURI(); j.url != want {
		return nil, nil, problem(401, "unauthorized", "JWS url %q is not the request URL %q", j.url, want)
	}
	switch {
	case (j.jwk == nil) == (j.kid == ""):
		return nil, nil, malformed("JWS header needs exactly one of jwk and kid")
	case j.kid != "" && by == byJWK:
		return nil, nil, malformed("this resource needs a jwk header, not kid")
	case j.jwk != nil && by == byKID:
		return nil, nil, malformed("this resource needs a kid header, not jwk")
	}
	key := j.jwk
	var acct *account
	if j.kid != "" {
		c.mu.Lock()
		acct = c.accounts[j.kid]
		if acct != nil {
			key = acct.key
		}
		c.mu.Unlock()
		if acct == nil {
			return nil, nil, problem(400, "accountDoesNotExist", "no account %q", j.kid)
		}
	}
	if err := j.verify(key); err != nil {
		return nil, nil, malformed("JWS verification error: %v", err)
	}
	c.mu.Lock()
	fresh := j.hasNonce && c.nonces[j.nonce]
	delete(c.nonces, j.nonce)
	c.mu.Unlock()
	if !fresh {
		return nil, nil, problem(400, "badNonce", "JWS nonce %q was not issued or was used", j.nonce)
	}
	return j, acct, nil
}

// decode unmarshals a JSON payload, which must be present.
func decode(payload []byte, v any) *Problem {
	if len(payload) == 0 {
		return malformed("payload must be a JSON object")
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return malformed("payload: %v", err)
	}
	return nil
}

func postAsGet(j *jws) *Problem {
	if len(j.payload) != 0 {
		return malformed("POST-as-GET payload must be empty")
	}
	return nil
}

func (c *CA) url(r *http.Request) string { return c.base + r.URL.Path }

// next returns a new resource id. c.mu is held.
func (c *CA) next() string { c.seq++; return strconv.Itoa(c.seq) }

func checkContact(contact []string) *Problem {
	for _, u := range contact {
		addr, ok := strings.CutPrefix(u, "mailto:")
		if !ok {
			return problem(400, "unsupportedContact", "contact %q is not mailto:", u)
		}
		if i := strings.IndexByte(addr, '@'); i < 1 || i == len(addr)-1 || strings.ContainsAny(addr, ",?") {
			return problem(400, "invalidContact", "contact %q is not one email address", u)
		}
	}
	return nil
}

func (c *CA) newAccount(r *http.Request, j *jws, _ *account) reply {
	var req struct {
		Contact              []string `json:"contact"`
		TermsOfServiceAgreed bool     `json:"termsOfServiceAgreed"`
		OnlyReturnExisting   bool     `json:"onlyReturnExisting"`
	}
	if p := decode(j.payload, &req); p != nil {
		return p.reply()
	}
	thumb, err := thumbprint(j.jwk)
	if err != nil {
		return problem(400, "badPublicKey", "%v", err).reply()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.byThumb[thumb]; a != nil {
		if a.Status != statusValid {
			return problem(401, "unauthorized", "account is %s", a.Status).reply()
		}
		return jsonReply(200, a).at(a.url)
	}
	if req.OnlyReturnExisting {
		return problem(400, "accountDoesNotExist", "no account with this key").reply()
	}
	if !req.TermsOfServiceAgreed {
		return malformed("must agree to the terms of service").reply()
	}
	if p := checkContact(req.Contact); p != nil {
		return p.reply()
	}
	a := &account{url: c.base + "/acct/" + c.next(), thumb: thumb, key: j.jwk,
		Status: statusValid, Contact: req.Contact, TermsOfServiceAgreed: true}
	a.Orders = a.url + "/orders"
	c.accounts[a.url], c.byThumb[thumb] = a, a
	return jsonReply(201, a).at(a.url)
}

// account reads the account (POST-as-GET).
func (c *CA) account(r *http.Request, j *jws, acct *account) reply {
	if p := postAsGet(j); p != nil {
		return p.reply()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, p := find(c.accounts, c.url(r), acct)
	if p != nil {
		return p.reply()
	}
	return jsonReply(200, a).at(a.url)
}

// checkName accepts the DNS names tls-alpn-01 and http-01 can validate.
func checkName(name string) error {
	switch {
	case strings.HasPrefix(name, "*."):
		return fmt.Errorf("wildcard %q needs dns-01, which is not offered", name)
	case net.ParseIP(name) != nil:
		return fmt.Errorf("%q is an IP address, not a DNS name", name)
	case len(name) > 253:
		return fmt.Errorf("name is longer than 253 bytes")
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return fmt.Errorf("%q is not a valid DNS name", name)
		}
	}
	return nil
}

func (c *CA) newOrder(r *http.Request, j *jws, acct *account) reply {
	var req struct {
		Identifiers []identifier `json:"identifiers"`
		NotBefore   string       `json:"notBefore"`
		NotAfter    string       `json:"notAfter"`
		Profile     string       `json:"profile"`
	}
	if p := decode(j.payload, &req); p != nil {
		return p.reply()
	}
	if len(req.Identifiers) == 0 {
		return malformed("order has no identifiers").reply()
	}
	if req.NotBefore != "" || req.NotAfter != "" || req.Profile != "" {
		return malformed("notBefore, notAfter and profile are not supported").reply()
	}
	var names []string
	for _, id := range req.Identifiers {
		if id.Type != "dns" {
			return problem(400, "unsupportedIdentifier", "identifier type %q is not dns", id.Type).reply()
		}
		name := strings.ToLower(id.Value)
		if err := checkName(name); err != nil {
			return problem(400, "rejectedIdentifier", "%v", err).reply()
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := time.Now().UTC().Add(7 * 24 * time.Hour).Truncate(time.Second)
	o := &order{url: c.base + "/order/" + c.next(), acct: acct, Status: statusPending, Expires: expires}
	o.Finalize = o.url + "/finalize"
	for _, name := range names {
		id := identifier{Type: "dns", Value: name}
		z := &authz{url: c.base + "/authz/" + c.next(), acct: acct, order: o,
			Identifier: id, Status: statusPending, Expires: expires}
		for _, typ := range c.challengeTypes {
			ch := &challenge{acct: acct, authz: z, Type: typ, URL: c.base + "/chal/" + c.next(),
				Token: randomString(32), Status: statusPending}
			z.Challenges = append(z.Challenges, ch)
			c.chals[ch.URL] = ch
		}
		o.Identifiers = append(o.Identifiers, id)
		o.Authorizations = append(o.Authorizations, z.url)
		o.authzs = append(o.authzs, z)
		c.authzs[z.url] = z
	}
	c.orders[o.url] = o
	return jsonReply(201, o).at(o.url)
}

func (c *CA) order(r *http.Request, j *jws, acct *account) reply {
	if p := postAsGet(j); p != nil {
		return p.reply()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, p := find(c.orders, c.url(r), acct)
	if p != nil {
		return p.reply()
	}
	return jsonReply(200, o).at(o.url)
}

// authz reads an authorization, or deactivates it.
func (c *CA) authz(r *http.Request, j *jws, acct *account) reply {
	var req struct {
		Status string `json:"status"`
	}
	if len(j.payload) != 0 {
		if p := decode(j.payload, &req); p != nil {
			return p.reply()
		}
		if req.Status != statusDeactivated {
			return malformed("authorization status can only become deactivated").reply()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	z, p := find(c.authzs, c.url(r), acct)
	if p != nil {
		return p.reply()
	}
	if req.Status != "" {
		if z.Status != statusPending && z.Status != statusValid {
			return malformed("cannot deactivate a %s authorization", z.Status).reply()
		}
		z.Status = statusDeactivated
		z.order.update()
	}
	return jsonReply(200, z)
}

// challenge reads a challenge; with a payload ({}) it validates it, unless
// it (or another of its authorization) is no longer pending.
func (c *CA) challenge(r *http.Request, j *jws, acct *account) reply {
	if len(j.payload) != 0 {
		var obj map[string]json.RawMessage
		if p := decode(j.payload, &obj); p != nil {
			return p.reply()
		}
	}
	c.mu.Lock()
	ch, p := find(c.chals, c.url(r), acct)
	if p != nil {
		c.mu.Unlock()
		return p.reply()
	}
	z := ch.authz
	start := len(j.payload) != 0 && ch.Status == statusPending && z.Status == statusPending
	for _, other := range z.Challenges {
		start = start && other.Status == statusPending
	}
	if !start {
		defer c.mu.Unlock()
		rep := jsonReply(200, ch)
		rep.up = z.url
		return rep
	}
	ch.Status = statusProcessing
	typ, host, token, keyAuth := ch.Type, z.Identifier.Value, ch.Token, ch.Token+"."+acct.thumb
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.Context(), validationTimeout)
	defer cancel()
	addr, perr := c.validate(ctx, typ, host, token, keyAuth)

	c.mu.Lock()
	defer c.mu.Unlock()
	v := Validation{Host: host, Challenge: typ, Addr: addr}
	if perr == nil {
		now := time.Now().UTC().Truncate(time.Second)
		ch.Status, ch.Validated = statusValid, &now
	} else {
		v.Err = perr
		ch.Status, ch.Error = statusInvalid, perr
	}
	if z.Status == statusPending {
		z.Status = ch.Status
	}
	z.order.update()
	c.validations = append(c.validations, v)
	rep := jsonReply(200, ch)
	rep.up = z.url
	return rep
}

// validate proves control of host by the challenge typ.
func (c *CA) validate(ctx context.Context, typ, host, token, keyAuth string) (string, *Problem) {
	resolve := c.opts.ResolveTLS
	if typ == ChallengeHTTP01 {
		resolve = c.opts.ResolveHTTP
	}
	addr, ok := "", false
	if resolve != nil {
		addr, ok = resolve(host)
	}
	if !ok {
		return "", problem(400, "dns", "%s: no address for %s", typ, host)
	}
	if typ == ChallengeHTTP01 {
		return addr, c.checkHTTP01(ctx, host, addr, token, keyAuth)
	}
	return addr, checkTLSALPN01(ctx, host, addr, keyAuth)
}

// checkTLSALPN01 follows RFC 8737 section 3: a handshake with SNI host and
// ALPN acme-tls/1 only must negotiate acme-tls/1 and present a self-signed
// certificate naming exactly host, with the critical acmeIdentifier
// extension holding the SHA-256 digest of the key authorization.
func checkTLSALPN01(ctx context.Context, host, addr, keyAuth string) *Problem {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return problem(400, "connection", "tls-alpn-01: %v", err)
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{ServerName: host, NextProtos: []string{acmeTLS1},
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err := conn.HandshakeContext(ctx); err != nil {
		return problem(400, "tls", "tls-alpn-01 handshake with %s: %v", addr, err)
	}
	st := conn.ConnectionState()
	if st.NegotiatedProtocol != acmeTLS1 {
		return problem(403, "unauthorized", "tls-alpn-01: %s negotiated ALPN %q, not %q", addr, st.NegotiatedProtocol, acmeTLS1)
	}
	leaf := st.PeerCertificates[0]
	if !slices.Equal(leaf.DNSNames, []string{host}) || len(leaf.IPAddresses)+len(leaf.EmailAddresses)+len(leaf.URIs) > 0 {
		return problem(403, "unauthorized", "tls-alpn-01: certificate must name exactly %s, names %q", host, leaf.DNSNames)
	}
	var ext *pkix.Extension
	for i := range leaf.Extensions {
		if leaf.Extensions[i].Id.Equal(oidACMEIdentifier) {
			ext = &leaf.Extensions[i]
		}
	}
	if ext == nil || !ext.Critical {
		return problem(403, "unauthorized", "tls-alpn-01: certificate lacks the critical acmeIdentifier extension")
	}
	var digest []byte
	want := sha256.Sum256([]byte(keyAuth))
	if rest, err := asn1.Unmarshal(ext.Value, &digest); err != nil || len(rest) > 0 || !bytes.Equal(digest, want[:]) {
		return problem(403, "unauthorized", "tls-alpn-01: acmeIdentifier is not the digest of the key authorization")
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		return problem(403, "unauthorized", "tls-alpn-01: certificate is not self-signed: %v", err)
	}
	return nil
}

// checkHTTP01 follows RFC 8555 section 8.3: the token's well-known path,
// asked for with Host: host, must answer 200 with the key authorization
// (trailing white space allowed). Redirects are not followed.
func (c *CA) checkHTTP01(ctx context.Context, host, addr, token, keyAuth string) *Problem {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/.well-known/acme-challenge/"+token, nil)
	if err != nil {
		return problem(500, "serverInternal", "http-01: %v", err)
	}
	req.Host = host
	resp, err := c.client.Do(req)
	if err != nil {
		return problem(400, "connection", "http-01: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	switch {
	case err != nil:
		return problem(400, "connection", "http-01: reading the response: %v", err)
	case resp.StatusCode != http.StatusOK:
		return problem(403, "unauthorized", "http-01: %s answered %s", addr, resp.Status)
	case strings.TrimRight(string(body), " \t\r\n") != keyAuth:
		return problem(403, "unauthorized", "http-01: %s answered %q, not the key authorization", addr, body)
	}
	return nil
}

// finalize checks the CSR against the ready order and issues the certificate.
func (c *CA) finalize(r *http.Request, j *jws, acct *account) reply {
	var req struct {
		CSR string `json:"csr"`
	}
	if p := decode(j.payload, &req); p != nil {
		return p.reply()
	}
	der, err := b64.DecodeString(req.CSR)
	if err != nil {
		return problem(400, "badCSR", "csr is not base64url: %v", err).reply()
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err == nil {
		err = csr.CheckSignature()
	}
	if err != nil {
		return problem(400, "badCSR", "%v", err).reply()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, p := find(c.orders, strings.TrimSuffix(c.url(r), "/finalize"), acct)
	if p != nil {
		return p.reply()
	}
	if o.Status != statusReady {
		return problem(403, "orderNotReady", "order is %s, not ready", o.Status).reply()
	}
	if p := checkCSR(csr, o); p != nil {
		return p.reply()
	}
	leaf, err := c.issue(csr.PublicKey, o.Identifiers)
	if err != nil {
		return problem(500, "serverInternal", "issuing: %v", err).reply()
	}
	url := c.base + "/cert/" + c.next()
	c.certs[url] = &certificate{acct: acct, chain: [][]byte{leaf.Raw, c.inter.Raw}, leaf: leaf}
	c.issued = append(c.issued, leaf)
	o.Status, o.Certificate = statusValid, url
	return jsonReply(200, o).at(o.url)
}

// checkCSR requires a supported key other than the account's, and exactly
// the order's names (RFC 8555 section 7.4), as dNSNames or the common name.
func checkCSR(csr *x509.CertificateRequest, o *order) *Problem {
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return problem(400, "badCSR", "ECDSA key on %s, want P-256 or P-384", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return problem(400, "badCSR", "RSA key of %d bits, want 2048 or more", k.N.BitLen())
		}
	default:
		return problem(400, "badCSR", "unsupported key %T", k)
	}
	if th, _ := thumbprint(csr.PublicKey); th == o.acct.thumb {
		return problem(400, "badCSR", "CSR key is the account key")
	}
	if len(csr.IPAddresses)+len(csr.EmailAddresses)+len(csr.URIs) > 0 {
		return problem(400, "badCSR", "CSR names something other than DNS names")
	}
	var got, want []string
	for _, n := range append(slices.Clone(csr.DNSNames), csr.Subject.CommonName) {
		if n = strings.ToLower(n); n != "" && !slices.Contains(got, n) {
			got = append(got, n)
		}
	}
	for _, id := range o.Identifiers {
		want = append(want, id.Value)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return problem(400, "badCSR", "CSR names %q, the order %q", got, want)
	}
	return nil
}

// issue signs a leaf for names with the intermediate. c.mu is held.
func (c *CA) issue(pub crypto.PublicKey, ids []identifier) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	notBefore := time.Now().Add(-time.Minute)
	tmpl := &x509.Certificate{
		SerialNumber: serial, NotBefore: notBefore, NotAfter: notBefore.Add(c.opts.CertLifetime),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	for _, id := range ids {
		tmpl.DNSNames = append(tmpl.DNSNames, id.Value)
	}
	if len(tmpl.DNSNames[0]) <= 64 {
		tmpl.Subject.CommonName = tmpl.DNSNames[0]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.inter, pub, c.interKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// certificate sends the chain, leaf first, as application/pem-certificate-chain.
func (c *CA) certificate(r *http.Request, j *jws, acct *account) reply {
	if p := postAsGet(j); p != nil {
		return p.reply()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	crt, p := find(c.certs, c.url(r), acct)
	if p != nil {
		return p.reply()
	}
	var buf bytes.Buffer
	for _, der := range crt.chain {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return reply{status: 200, ctype: "application/pem-certificate-chain", body: buf.Bytes()}
}
