package proxy

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Options configure a Proxy. The zero value serves production traffic on
// :8080 and test traffic on 127.0.0.1:8081, with no state file. The admin
// API is served by package admin.
type Options struct {
	// Addr is the production listener's address; ":8080" if empty. Use
	// "127.0.0.1:0" for a free loopback port (see Proxy.Addr).
	Addr string
	// TestAddr is the test listener's address; "127.0.0.1:8081" if empty,
	// so test traffic stays on this host unless asked otherwise. "off"
	// disables the test listener.
	TestAddr string
	// TLS, if set, makes the production listener speak HTTPS (HTTP/1.1 and
	// HTTP/2), with an optional HTTP listener redirecting to it.
	TLS *TLSOptions
	// StateFile, if set, is where the routing state (service configuration,
	// routes and targets) is saved, atomically, on every change; New loads it
	// so a restarted proxy comes back as it was.
	StateFile string

	// DefaultService receives requests whose Host matches no service's
	// Hosts. If empty and exactly one service has no Hosts, that one does.
	DefaultService string
	// Defaults configure services that are not configured explicitly, and
	// fill the zero fields of those that are (see ConfigureService).
	Defaults ServiceConfig

	// ErrorRate is the rule Proxy.Check (its bluegreen.Monitor) applies.
	ErrorRate ErrorRate
	// ErrorWindow is how many of the latest request outcomes each
	// environment remembers for error-rate monitors; 1000 if zero. It bounds
	// ErrorRate.Window.
	ErrorWindow int

	// TrustForwarded keeps the X-Forwarded-For and X-Forwarded-Proto headers
	// clients send (and appends to them), for a proxy behind another trusted
	// proxy. Off by default: those headers are replaced, so clients cannot
	// spoof their address.
	TrustForwarded bool
	// MaxIdleConnsPerHost is how many idle connections to each upstream
	// instance are kept for reuse; 256 if zero.
	MaxIdleConnsPerHost int
	// Transport, if set, carries every request to upstream instances
	// through httputil.ReverseProxy, and the listeners are plain net/http
	// servers: the fast path (see the package documentation) is off. Its
	// connection errors drive passive health checks, so a custom Transport
	// should return the dial errors it gets. If nil, ordinary requests take
	// the fast path and the others a tuned *http.Transport.
	Transport http.RoundTripper

	// Logger receives state changes (targets going up or down, drains); it is
	// never called per request. Nothing is logged if nil.
	Logger *slog.Logger
}

// ServiceConfig configures how the proxy serves one service.
type ServiceConfig struct {
	// Hosts are the Host header values (without port, case-insensitive)
	// routed to the service. A service with no hosts receives requests
	// matched by no host (see Options.DefaultService).
	Hosts []string
	// HealthCheck configures active and passive health checks of the
	// service's instances.
	HealthCheck HealthCheck
	// DeregistrationDelay bounds how long Drain waits for an environment's
	// in-flight requests (long ones, streams, WebSockets) to finish after it
	// left rotation; when it passes they are canceled, as an ALB target
	// group's deregistration delay does. 30s if zero.
	DeregistrationDelay time.Duration
	// HeaderRule, if set, sends production requests that carry a header to
	// the test route's environment, like an ALB listener rule with an
	// http-header condition.
	HeaderRule HeaderRule
	// Sticky, if set, keeps each client on one environment while traffic is
	// split between two, with a cookie.
	Sticky Sticky
	// Off switches values of Options.Defaults off for this service, where
	// a zero field would take them.
	Off DefaultsOff
}

// DefaultsOff names the values of Options.Defaults a service does without.
type DefaultsOff struct {
	// HeaderRule: no header rule.
	HeaderRule bool `json:"headerRule,omitempty"`
	// Sticky: no sticky cookie.
	Sticky bool `json:"sticky,omitempty"`
	// HealthCheck: no active health checks (passive ones stay).
	HealthCheck bool `json:"healthCheck,omitempty"`
}

// HealthCheck configures health checks, with the meaning of an ALB target
// group's settings.
type HealthCheck struct {
	// Path is requested on each instance (GET, answered 200-399 when
	// healthy), such as "/healthz". Empty disables active checks: only
	// passive ones (a refused connection) take instances out.
	Path string
	// Interval is the time between checks of one instance; 5s if zero.
	Interval time.Duration
	// Timeout bounds one check; 2s if zero. It must be less than Interval.
	Timeout time.Duration
	// HealthyThreshold is how many consecutive successes bring an unhealthy
	// instance back; 2 if zero.
	HealthyThreshold int
	// UnhealthyThreshold is how many consecutive failures take a healthy
	// instance out; 2 if zero.
	UnhealthyThreshold int
	// Cooldown is how long an instance that refused a connection stays out
	// when active checks are off; 5s if zero. With active checks on, it
	// stays out until HealthyThreshold checks pass.
	Cooldown time.Duration
}

// HeaderRule sends production requests whose header Name equals Value to the
// test route's environment. The zero HeaderRule is off.
type HeaderRule struct {
	// Name is the header's name, such as "X-Canary".
	Name string `json:"name"`
	// Value is the value that matches, exactly.
	Value string `json:"value"`
}

// Sticky keeps a client on one environment during a traffic shift: the first
// response sets a cookie naming the environment's slot and later requests
// carrying it go there while it has production weight. The zero Sticky is off.
type Sticky struct {
	// Cookie is the cookie's name, such as "bluegreen". Empty: off.
	Cookie string
	// TTL is the cookie's lifetime; 1h if zero.
	TTL time.Duration
}

// Defaults used for zero fields.
const (
	DefaultAddr                = ":8080"
	DefaultTestAddr            = "127.0.0.1:8081"
	DefaultDeregistrationDelay = 30 * time.Second
	DefaultErrorWindow         = 1000
	defaultIdlePerHost         = 256
	maxErrorWindow             = 1 << 20
	maxTargets                 = 1000
	maxHosts                   = 100
)

// withDefaults returns o with its zero fields filled in.
func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.TestAddr == "" {
		o.TestAddr = DefaultTestAddr
	}
	if o.ErrorWindow == 0 {
		o.ErrorWindow = DefaultErrorWindow
	}
	if o.MaxIdleConnsPerHost == 0 {
		o.MaxIdleConnsPerHost = defaultIdlePerHost
	}
	o.Defaults = o.Defaults.withDefaults(ServiceConfig{})
	o.ErrorRate = o.ErrorRate.withDefaults()
	return o
}

// validate checks o (with defaults applied).
func (o Options) validate() error {
	if err := checkAddr("Options.Addr", o.Addr); err != nil {
		return err
	}
	if o.TestAddr != "off" {
		if err := checkAddr("Options.TestAddr", o.TestAddr); err != nil {
			return err
		}
	}
	if o.TLS != nil {
		if err := o.TLS.validate(); err != nil {
			return err
		}
	}
	if o.ErrorWindow < 0 || o.ErrorWindow > maxErrorWindow {
		return fieldError("Options.ErrorWindow", fmt.Sprintf("%d out of range", o.ErrorWindow),
			fmt.Sprintf("use 1 to %d, or 0 for %d", maxErrorWindow, DefaultErrorWindow))
	}
	if o.MaxIdleConnsPerHost < 0 {
		return fieldError("Options.MaxIdleConnsPerHost", "negative", "use a positive count, or 0 for the default")
	}
	if o.DefaultService != "" {
		if err := checkServiceName("Options.DefaultService", o.DefaultService); err != nil {
			return err
		}
	}
	if err := o.ErrorRate.validate("Options.ErrorRate"); err != nil {
		return err
	}
	if len(o.Defaults.Hosts) > 0 {
		return fieldError("Options.Defaults.Hosts", "set", "give hosts to each service with ConfigureService; defaults apply to many services")
	}
	if o.ErrorRate.Window > o.ErrorWindow {
		return fieldError("Options.ErrorRate.Window", fmt.Sprintf("%d exceeds Options.ErrorWindow (%d)", o.ErrorRate.Window, o.ErrorWindow),
			"raise Options.ErrorWindow or lower the rule's window")
	}
	return o.Defaults.validate("Options.Defaults")
}

// withDefaults fills the zero fields of c from def, then from the built-in
// defaults.
func (c ServiceConfig) withDefaults(def ServiceConfig) ServiceConfig {
	if c.DeregistrationDelay == 0 {
		c.DeregistrationDelay = def.DeregistrationDelay
	}
	if c.DeregistrationDelay == 0 {
		c.DeregistrationDelay = DefaultDeregistrationDelay
	}
	if c.HeaderRule.Name == "" && !c.Off.HeaderRule {
		c.HeaderRule = def.HeaderRule
	}
	if c.Sticky.Cookie == "" && !c.Off.Sticky {
		c.Sticky = def.Sticky
	}
	if c.Sticky.Cookie != "" && c.Sticky.TTL == 0 {
		c.Sticky.TTL = time.Hour
	}
	h, d := &c.HealthCheck, def.HealthCheck
	timeoutGiven := h.Timeout != 0 || d.Timeout != 0
	if c.Off.HealthCheck {
		d = HealthCheck{}
	}
	if h.Path == "" {
		h.Path = d.Path
	}
	fillDur := func(v *time.Duration, from, builtin time.Duration) {
		if *v == 0 {
			*v = from
		}
		if *v == 0 {
			*v = builtin
		}
	}
	fillInt := func(v *int, from, builtin int) {
		if *v == 0 {
			*v = from
		}
		if *v == 0 {
			*v = builtin
		}
	}
	fillDur(&h.Interval, d.Interval, 5*time.Second)
	fillDur(&h.Timeout, d.Timeout, 2*time.Second)
	fillDur(&h.Cooldown, d.Cooldown, 5*time.Second)
	fillInt(&h.HealthyThreshold, d.HealthyThreshold, 2)
	fillInt(&h.UnhealthyThreshold, d.UnhealthyThreshold, 2)
	if !timeoutGiven && h.Timeout >= h.Interval {
		// A short interval given without a timeout gets a timeout that fits.
		h.Timeout = h.Interval / 2
	}
	return c
}

// validate checks c (with defaults applied); field prefixes error fields.
func (c ServiceConfig) validate(field string) error {
	if len(c.Hosts) > maxHosts {
		return fieldError(field+".Hosts", fmt.Sprintf("%d hosts", len(c.Hosts)), fmt.Sprintf("use at most %d", maxHosts))
	}
	for i, h := range c.Hosts {
		if err := checkHost(fmt.Sprintf("%s.Hosts[%d]", field, i), h); err != nil {
			return err
		}
	}
	if c.DeregistrationDelay < 0 {
		return fieldError(field+".DeregistrationDelay", "negative", "use a positive duration, or 0 for 30s")
	}
	h := c.HealthCheck
	switch {
	case c.Off.HeaderRule && c.HeaderRule != (HeaderRule{}):
		return fieldError(field+".Off.HeaderRule", "set along with a header rule", "give the rule or switch the default off, not both")
	case c.Off.Sticky && c.Sticky.Cookie != "":
		return fieldError(field+".Off.Sticky", "set along with a sticky cookie", "give the cookie or switch the default off, not both")
	case c.Off.HealthCheck && h.Path != "":
		return fieldError(field+".Off.HealthCheck", "set along with a health check path", "give the path or switch the default off, not both")
	}
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		return fieldError(field+".HealthCheck.Path", fmt.Sprintf("%q does not start with /", h.Path), `use a path such as "/healthz"`)
	}
	if strings.ContainsAny(h.Path, " \t\r\n?#") {
		return fieldError(field+".HealthCheck.Path", fmt.Sprintf("%q has a space, query or fragment", h.Path), "use a plain path")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"Cooldown", h.Cooldown}} {
		if d.v < 0 {
			return fieldError(field+".HealthCheck."+d.name, "negative", "use a positive duration, or 0 for the default")
		}
	}
	if h.Timeout >= h.Interval {
		return fieldError(field+".HealthCheck.Timeout", fmt.Sprintf("%v is not less than the interval %v", h.Timeout, h.Interval),
			"use a timeout shorter than the interval")
	}
	for _, t := range []struct {
		name string
		v    int
	}{{"HealthyThreshold", h.HealthyThreshold}, {"UnhealthyThreshold", h.UnhealthyThreshold}} {
		if t.v < 1 || t.v > 100 {
			return fieldError(field+".HealthCheck."+t.name, fmt.Sprintf("%d out of range", t.v), "use 1 to 100, or 0 for 2")
		}
	}
	if r := c.HeaderRule; r.Name != "" || r.Value != "" {
		if !isToken(r.Name) {
			return fieldError(field+".HeaderRule.Name", fmt.Sprintf("%q is not a header name", r.Name), `use a name such as "X-Canary"`)
		}
		if r.Value == "" || strings.ContainsAny(r.Value, "\r\n\x00") {
			return fieldError(field+".HeaderRule.Value", fmt.Sprintf("%q is empty or has a control character", r.Value), "use a plain, non-empty value")
		}
	}
	if s := c.Sticky; s.Cookie != "" {
		if !isToken(s.Cookie) {
			return fieldError(field+".Sticky.Cookie", fmt.Sprintf("%q is not a cookie name", s.Cookie), `use a name such as "bluegreen"`)
		}
		if s.TTL < 0 {
			return fieldError(field+".Sticky.TTL", "negative", "use a positive duration, or 0 for 1h")
		}
	}
	return nil
}

func checkAddr(field, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fieldError(field, fmt.Sprintf("%q is not host:port", addr), `use an address such as "127.0.0.1:8080" or ":8080"`)
	}
	return nil
}

func checkHost(field, h string) error {
	if h == "" || len(h) > 253 || strings.ContainsAny(h, "/:@ \t\r\n?#") {
		return fieldError(field, fmt.Sprintf("%q is not a host name", h), `use a bare host name such as "app.example.com", without scheme or port`)
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110), as header and cookie
// names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
