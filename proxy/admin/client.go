package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Addr is the daemon's admin address: "unix:/path/to/socket",
	// "127.0.0.1:9090" or "http://127.0.0.1:9090". Required.
	Addr string
	// Token is sent as "Authorization: Bearer <token>" if set.
	Token string
	// HTTPClient sends the requests; one suited to Addr if nil. Its
	// transport must reach Addr (for a unix socket, dial it).
	HTTPClient *http.Client
	// ErrorRate is the rule Client.Check applies; the default rule if zero.
	ErrorRate proxy.ErrorRate
}

// Client drives a proxy daemon (a Proxy with an admin listener, such as
// cmd/bluegreen-proxy) over its admin API, so that a short-lived deploy
// command can deploy behind a long-running proxy. It is a bluegreen.Router,
// bluegreen.Verifier and bluegreen.Monitor, and a proxy.TargetRegistrar. Errors
// carry the daemon's bluegreen code; a daemon that cannot be reached gives
// CodeTransient, so the Deployer retries.
type Client struct {
	base  string
	token string
	hc    *http.Client
	rule  proxy.ErrorRate
}

var (
	_ bluegreen.Router      = (*Client)(nil)
	_ bluegreen.Verifier    = (*Client)(nil)
	_ bluegreen.Monitor     = (*Client)(nil)
	_ proxy.TargetRegistrar = (*Client)(nil)
	_ proxy.WindowReader    = (*Client)(nil)
)

// NewClient returns a Client for the daemon at opts.Addr. It does not
// connect.
func NewClient(opts ClientOptions) (*Client, error) {
	if err := opts.ErrorRate.Validate("ClientOptions.ErrorRate"); err != nil {
		return nil, err
	}
	c := &Client{token: opts.Token, hc: opts.HTTPClient, rule: opts.ErrorRate}
	switch {
	case strings.HasPrefix(opts.Addr, "unix:"):
		path := strings.TrimPrefix(opts.Addr, "unix:")
		if path == "" {
			return nil, check.FieldError("ClientOptions.Addr", "unix socket without a path", `use "unix:/path/to/socket"`)
		}
		c.base = "http://bluegreen-proxy"
		if c.hc == nil {
			d := &net.Dialer{Timeout: 5 * time.Second}
			c.hc = &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return d.DialContext(ctx, "unix", path)
				},
				MaxIdleConnsPerHost: 4,
			}}
		}
	case opts.Addr == "":
		return nil, check.FieldError("ClientOptions.Addr", "empty", `set the daemon's admin address, such as "unix:/run/bluegreen-proxy.sock"`)
	default:
		base := opts.Addr
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
			return nil, check.FieldError("ClientOptions.Addr", fmt.Sprintf("%q is not an admin address", opts.Addr),
				`use "unix:/path", "host:port" or "http://host:port"`)
		}
		c.base = u.Scheme + "://" + u.Host
		if c.hc == nil {
			c.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		}
	}
	return c, nil
}

func servicePath(service string) string { return "/v1/services/" + url.PathEscape(service) }

func slotPath(service string, slot bluegreen.Slot) string {
	return servicePath(service) + "/slots/" + url.PathEscape(string(slot))
}

// do sends one admin request. in, if not nil, is sent as JSON; out, if not
// nil, receives the JSON answer.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("proxy client: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("proxy client: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("proxy client: %s %s: %w", method, path, ctx.Err())
		}
		return bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf("proxy client: %s %s: daemon unreachable: %w", method, path, err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf("proxy client: %s %s: read answer: %w", method, path, err))
	}
	if res.StatusCode >= 300 {
		return decodeError(res.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("proxy client: %s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// decodeError rebuilds the error the daemon reported, with its code, so
// errors.Is(err, bluegreen.ErrInvalid) and the like hold on this side too.
func decodeError(status int, b []byte) error {
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		code := bluegreen.CodeUnknown
		if status == http.StatusServiceUnavailable || status == http.StatusBadGateway {
			code = bluegreen.CodeTransient
		}
		return bluegreen.NewError(code, fmt.Errorf("proxy daemon: HTTP %d: %s", status, strings.TrimSpace(string(b))))
	}
	code := codeNamed(e.Code)
	if code == bluegreen.CodeInvalid && e.Field != "" {
		return &bluegreen.ConfigError{Field: e.Field, Problem: e.Problem, Fix: e.Fix}
	}
	return bluegreen.NewError(code, fmt.Errorf("proxy daemon: %s", e.Error))
}

// codeNamed returns the code whose String is name, or CodeUnknown.
func codeNamed(name string) bluegreen.Code {
	for c := bluegreen.Code(0); !strings.HasPrefix(c.String(), "Code("); c++ {
		if c.String() == name {
			return c
		}
	}
	return bluegreen.CodeUnknown
}

// SetRoutes applies r to service on the daemon.
func (c *Client) SetRoutes(ctx context.Context, service string, r bluegreen.Routes) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, servicePath(service)+"/routes", r, nil)
}

// Routes returns the routes in force for service on the daemon.
func (c *Client) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	var r bluegreen.Routes
	err := c.do(ctx, http.MethodGet, servicePath(service)+"/routes", nil, &r)
	return r, err
}

// Verify reports whether the daemon's request path uses r for service.
func (c *Client) Verify(ctx context.Context, service string, r bluegreen.Routes) (bool, error) {
	var v verifyBody
	err := c.do(ctx, http.MethodPost, servicePath(service)+"/verify", r, &v)
	return v.InForce, err
}

// ConfigureService sets how the daemon serves service.
func (c *Client) ConfigureService(ctx context.Context, service string, cfg proxy.ServiceConfig) error {
	return c.do(ctx, http.MethodPut, servicePath(service)+"/config", cfg, nil)
}

// SetTargets replaces the instances of service's slot on the daemon.
func (c *Client) SetTargets(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error {
	if addrs == nil {
		addrs = []string{}
	}
	return c.do(ctx, http.MethodPut, slotPath(service, slot)+"/targets", targetsBody{addrs}, nil)
}

// Targets reports the instances of service's slot and their health.
func (c *Client) Targets(ctx context.Context, service string, slot bluegreen.Slot) ([]proxy.TargetStatus, error) {
	var b targetStatusBody
	err := c.do(ctx, http.MethodGet, slotPath(service, slot)+"/targets", nil, &b)
	return b.Targets, err
}

// Drain takes service's slot out of service on the daemon and waits for its
// requests in flight (see proxy.TargetRegistrar).
func (c *Client) Drain(ctx context.Context, service string, slot bluegreen.Slot) error {
	return c.do(ctx, http.MethodPost, slotPath(service, slot)+"/drain", nil, nil)
}

// ErrorWindow returns the recent outcomes of service's slot (see
// Proxy.ErrorWindow).
func (c *Client) ErrorWindow(ctx context.Context, service string, slot bluegreen.Slot, n int) (proxy.Window, error) {
	path := slotPath(service, slot) + "/window"
	if n > 0 {
		path += "?n=" + strconv.Itoa(n)
	}
	var w proxy.Window
	err := c.do(ctx, http.MethodGet, path, nil, &w)
	return w, err
}

// Metrics returns the metrics of service's slot.
func (c *Client) Metrics(ctx context.Context, service string, slot bluegreen.Slot) (proxy.Metrics, error) {
	var m proxy.Metrics
	err := c.do(ctx, http.MethodGet, slotPath(service, slot)+"/metrics", nil, &m)
	return m, err
}

// Name names the Client as a monitor: the name of ClientOptions.ErrorRate.
func (c *Client) Name() string { return (&proxy.ErrorRateMonitor{Rule: c.rule}).Name() }

// Evidence says what the Client as a monitor needs (bluegreen.EvidenceDescriber).
func (c *Client) Evidence() string { return (&proxy.ErrorRateMonitor{Rule: c.rule}).Evidence() }

// Check applies ClientOptions.ErrorRate to green's requests as the daemon
// counted them, making the Client a bluegreen.Monitor.
func (c *Client) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	m := proxy.ErrorRateMonitor{Source: c, Rule: c.rule}
	return m.Check(ctx, in)
}
