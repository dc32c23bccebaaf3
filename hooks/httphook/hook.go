package httphook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/hookwire"
)

// DefaultTimeout bounds one call when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Options configure a Hook.
type Options struct {
	// URL receives the POSTs. It must be https, unless AllowHTTP. Required.
	URL string
	// Secret keys the HMAC-SHA256 signature; at least MinSecretLen bytes.
	// Required.
	Secret []byte
	// Client sends the requests; a client with no timeout of its own if
	// nil. Its CheckRedirect is replaced: redirects are never followed.
	Client *http.Client
	// Timeout bounds each call, from connecting to reading the answer;
	// DefaultTimeout if zero.
	Timeout time.Duration
	// Header is added to every request (an Authorization header for a
	// gateway in front of the receiver, say). It cannot set the signature,
	// timestamp or content-type headers.
	Header http.Header
	// AllowHTTP permits an http URL. The signature authenticates the
	// request but does not hide it: use it for loopback and tests only.
	AllowHTTP bool
	// ServiceARN, RevisionARN and ResourceARN name things in the payload,
	// as the options of the same names in aws/lambdahook do.
	ServiceARN  func(service string) string
	RevisionARN func(env bluegreen.Environment) string
	ResourceARN func(in bluegreen.HookInput) string
	// Logger receives a debug record per call (URL host, deployment, stage,
	// status, duration; never bodies or details). Nothing is logged if nil.
	Logger *slog.Logger
	// Now returns the time stamped on requests; time.Now if nil.
	Now func() time.Time
}

// Hook is a bluegreen.Hook that POSTs to a URL. It is safe for concurrent use.
type Hook struct {
	opts   Options
	client *http.Client
	wire   hookwire.Builder
	host   string
}

var (
	_ bluegreen.Hook       = (*Hook)(nil)
	_ bluegreen.ErrorCoder = (*Hook)(nil)
)

// New returns a Hook calling o.URL.
func New(o Options) (*Hook, error) {
	u, err := url.Parse(o.URL)
	switch {
	case strings.TrimSpace(o.URL) == "":
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.URL", Problem: "empty", Fix: `give the receiver's URL, such as "https://smoke.internal/hooks"`}
	case err != nil:
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.URL", Problem: err.Error(), Fix: "give an absolute https URL"}
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.URL", Problem: fmt.Sprintf("%q is not an absolute http(s) URL", o.URL), Fix: "give an absolute https URL"}
	case u.Scheme == "http" && !o.AllowHTTP:
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.URL", Problem: "http sends payloads in the clear",
			Fix: "use https, or set AllowHTTP for loopback and tests"}
	case u.User != nil:
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.URL", Problem: "carries credentials", Fix: "pass credentials in Options.Header"}
	}
	if len(o.Secret) < MinSecretLen {
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.Secret", Problem: fmt.Sprintf("%d bytes", len(o.Secret)),
			Fix: fmt.Sprintf("use at least %d random bytes (32 recommended), shared with the receiver", MinSecretLen)}
	}
	if o.Timeout < 0 {
		return nil, &bluegreen.ConfigError{Field: "httphook.Options.Timeout", Problem: "negative", Fix: "use 0 for the default of 30s, or a positive duration"}
	}
	for k := range o.Header {
		switch http.CanonicalHeaderKey(k) {
		case TimestampHeader, SignatureHeader, "Content-Type", "Content-Length", "Host":
			return nil, &bluegreen.ConfigError{Field: "httphook.Options.Header", Problem: k + " is set by the hook", Fix: "remove it"}
		}
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	client := &http.Client{}
	if o.Client != nil {
		c := *o.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Header = o.Header.Clone()
	wire := hookwire.NewBuilder(hookwire.Naming{ServiceARN: o.ServiceARN, RevisionARN: o.RevisionARN, ResourceARN: o.ResourceARN}, o.URL)
	return &Hook{opts: o, client: client, wire: wire, host: u.Host}, nil
}

// Request returns the request body h sends for in. It is what Run sends; it
// is exported so that tests of receivers can build real requests.
func (h *Hook) Request(in bluegreen.HookInput) Request {
	return newRequest(h.wire.Payload(in), in)
}

// Run POSTs the request of in, signed, and reads the answer. A malformed
// answer is a FAILED result with the reason; a failed call is an error with
// a bluegreen code (see the package documentation).
func (h *Hook) Run(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
	body, err := json.Marshal(h.Request(in))
	if err != nil {
		// Only invalid Details can fail here; the Deployer validates them.
		return bluegreen.HookResult{}, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("httphook: encode request: %w", err))
	}
	ts := strconv.FormatInt(h.opts.Now().Unix(), 10)
	callCtx, cancel := context.WithTimeoutCause(ctx, h.opts.Timeout, errCallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, h.opts.URL, bytes.NewReader(body))
	if err != nil {
		return bluegreen.HookResult{}, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("httphook: %w", err))
	}
	for k, vs := range h.opts.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bluegreen-httphook")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(h.opts.Secret, ts, body))

	start := time.Now()
	res, err := h.call(ctx, callCtx, req)
	status := string(res.Status)
	if err != nil {
		status = "error: " + h.ErrorCode(err).String()
	}
	h.opts.Logger.DebugContext(ctx, "http hook answered", "host", h.host, "deployment", in.DeploymentID,
		"stage", in.Stage, "status", status, "duration", time.Since(start))
	return res, err
}

// errCallTimeout is the cause of a call's context running out of Options.Timeout.
var errCallTimeout = errors.New("no answer within the hook's call timeout")

func (h *Hook) call(ctx, callCtx context.Context, req *http.Request) (bluegreen.HookResult, error) {
	resp, err := h.client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
		if err == nil {
			return h.answer(resp, b)
		}
	}
	if ctx.Err() == nil && errors.Is(context.Cause(callCtx), errCallTimeout) {
		return bluegreen.HookResult{}, bluegreen.NewError(bluegreen.CodeTimeout,
			fmt.Errorf("httphook: POST %s: %w after %v", h.opts.URL, errCallTimeout, h.opts.Timeout))
	}
	return bluegreen.HookResult{}, bluegreen.NewError(h.ErrorCode(err), fmt.Errorf("httphook: POST %s: %w", h.opts.URL, err))
}

// answer reads a response whose body is b.
func (h *Hook) answer(resp *http.Response, b []byte) (bluegreen.HookResult, error) {
	if code, ok := statusCode(resp.StatusCode); ok {
		return bluegreen.HookResult{}, bluegreen.NewError(code, &StatusError{URL: h.opts.URL, StatusCode: resp.StatusCode, Body: preview(b)})
	}
	if len(b) > MaxBodyBytes {
		return bluegreen.HookResult{Status: bluegreen.HookFailed,
			Reason: fmt.Sprintf("http hook %s answered more than %d bytes", h.opts.URL, MaxBodyBytes)}, nil
	}
	res, err := hookwire.ParseResponse(b)
	if err != nil {
		return bluegreen.HookResult{Status: bluegreen.HookFailed,
			Reason: fmt.Sprintf("http hook %s answered a malformed response: %v", h.opts.URL, err)}, nil
	}
	if res.Status == bluegreen.HookFailed {
		var extra struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(b, &extra) // ParseResponse accepted b as an object
		res.Reason = fmt.Sprintf("http hook %s answered FAILED", h.opts.URL)
		if extra.Reason != "" {
			res.Reason += ": " + truncate(extra.Reason, maxReason)
		}
	}
	return res, nil
}

// maxReason bounds the part of a receiver's text kept in a Reason or error.
const maxReason = 512

// statusCode classifies an HTTP status that is not an answer; ok is false
// for 2xx.
func statusCode(status int) (bluegreen.Code, bool) {
	switch {
	case status >= 200 && status <= 299:
		return 0, false
	case status == http.StatusTooManyRequests:
		return bluegreen.CodeThrottled, true
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooEarly:
		return bluegreen.CodeTransient, true
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return bluegreen.CodePermission, true
	case status == http.StatusNotFound, status == http.StatusGone:
		return bluegreen.CodeNotFound, true
	}
	return bluegreen.CodeInvalid, true
}

// StatusError is an answer with a status other than 2xx.
type StatusError struct {
	// URL is where the request went.
	URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the start of the response body.
	Body string
}

// Error says what the receiver answered.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("httphook: POST %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		s += " (redirects are not followed: configure the final URL)"
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// ErrorCode classifies the errors of Run: a *StatusError by its status
// (see the package documentation); context errors as CodeCanceled or
// CodeTimeout; an untrusted server certificate CodeFailedPrecondition; a
// host that does not resolve CodeNotFound; other transport errors (refused
// and reset connections, a closed connection, a DNS timeout) CodeTransient.
func (h *Hook) ErrorCode(err error) bluegreen.Code {
	if code := bluegreen.ErrorCode(err); code != bluegreen.CodeUnknown {
		return code
	}
	var (
		se      *StatusError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		dnsErr  *net.DNSError
	)
	switch {
	case errors.As(err, &se):
		code, _ := statusCode(se.StatusCode)
		return code
	case errors.As(err, &certErr), errors.As(err, &unknown):
		return bluegreen.CodeFailedPrecondition
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return bluegreen.CodeNotFound
	}
	return bluegreen.CodeTransient
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// preview quotes the start of a response body for an error message.
func preview(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	return strconv.Quote(truncate(string(b), 256))
}
