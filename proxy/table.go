package proxy

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/bluegreen-go/bluegreen"
)

// service is the lasting state of one service. Its plain fields are guarded
// by Proxy.mu; the request path reads only the atomics and the pools.
type service struct {
	name     string
	explicit *ServiceConfig // as given to ConfigureService; nil: Options.Defaults
	config   atomic.Pointer[ServiceConfig]
	routes   bluegreen.Routes
	addrs    [2][]string // registered instances per slot, as saved in the state file
	pools    [2]*pool
	next     atomic.Uint64 // position in the weighted round robin
}

// table is an immutable snapshot of the routing of every service. The
// request path loads it once per request from an atomic pointer, so a change
// of routes is one pointer swap: each request sees the old table or the new,
// never half of one, and none waits.
type table struct {
	gen      uint64
	byName   map[string]*entry
	byHost   map[string]*entry
	fallback *entry
}

// entry is the routing of one service in a table.
type entry struct {
	svc     *service
	routes  bluegreen.Routes
	weightB uint64 // slot B's production weight, 0..1000
	routed  bool   // production weights are set
	test    int    // slot index of the test route; -1 when none

	header      string // canonical header name of the header rule; "" when off
	headerValue string

	cookie    string    // sticky cookie name; "" when off
	setCookie [2]string // Set-Cookie values pinning each slot
}

func newEntry(svc *service) *entry {
	cfg := svc.config.Load()
	r := svc.routes
	e := &entry{svc: svc, routes: r, weightB: uint64(r.Production.B), routed: !r.Production.Empty(), test: -1}
	if r.Test != "" {
		e.test = slotIndex(r.Test)
	}
	if cfg.HeaderRule.Name != "" {
		e.header = http.CanonicalHeaderKey(cfg.HeaderRule.Name)
		e.headerValue = cfg.HeaderRule.Value
	}
	if cfg.Sticky.Cookie != "" {
		e.cookie = cfg.Sticky.Cookie
		for i, s := range slots {
			c := http.Cookie{Name: cfg.Sticky.Cookie, Value: string(s), Path: "/",
				MaxAge: int(cfg.Sticky.TTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode}
			e.setCookie[i] = c.String()
		}
	}
	return e
}

// buildTable snapshots services. defaultService is Options.DefaultService.
func buildTable(gen uint64, services map[string]*service, defaultService string) *table {
	t := &table{gen: gen, byName: make(map[string]*entry, len(services)), byHost: map[string]*entry{}}
	var hostless []*entry
	for name, svc := range services {
		e := newEntry(svc)
		t.byName[name] = e
		hosts := svc.config.Load().Hosts
		for _, h := range hosts {
			t.byHost[strings.ToLower(h)] = e
		}
		if len(hosts) == 0 {
			hostless = append(hostless, e)
		}
	}
	switch {
	case defaultService != "":
		t.fallback = t.byName[defaultService]
	case len(hostless) == 1:
		t.fallback = hostless[0]
	}
	return t
}

// lookup returns the service the Host header host names, or the fallback.
func (t *table) lookup(host string) *entry {
	if len(t.byHost) > 0 {
		h := stripPort(host)
		if hasUpper(h) {
			h = strings.ToLower(h)
		}
		if e, ok := t.byHost[h]; ok {
			return e
		}
	}
	return t.fallback
}

// lookupBytes is lookup for a host still in a connection's buffer; it
// allocates nothing.
func (t *table) lookupBytes(host []byte) *entry {
	if len(t.byHost) == 0 {
		return t.fallback
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		host = host[:i]
	}
	host = bytes.TrimSuffix(bytes.TrimPrefix(host, []byte("[")), []byte("]"))
	var lower [256]byte
	if len(host) <= len(lower) {
		for i, c := range host {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		host = lower[:len(host)]
	}
	if e, ok := t.byHost[string(host)]; ok {
		return e
	}
	return t.fallback
}

func stripPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// requestInfo is what routing reads of a request besides its host: the
// header rule's field and the sticky cookie.
type requestInfo interface {
	// fieldIs reports whether the first field named name (canonical form)
	// has the value value.
	fieldIs(name, value string) bool
	// cookieSlot returns the slot index (0 for A, 1 for B) that cookie name
	// holds, or -1.
	cookieSlot(name string) int
}

// httpInfo is the requestInfo of an *http.Request.
type httpInfo struct{ r *http.Request }

func (h httpInfo) fieldIs(name, value string) bool {
	v := h.r.Header[name]
	return len(v) > 0 && v[0] == value
}

func (h httpInfo) cookieSlot(name string) int {
	if c, err := h.r.Cookie(name); err == nil {
		return slotOfValue(c.Value)
	}
	return -1
}

// slotOfValue maps a sticky cookie's value to a slot index, or -1.
func slotOfValue(v string) int {
	switch v {
	case "A":
		return 0
	case "B":
		return 1
	}
	return -1
}

// production chooses the slot of a production request: the test route's for
// a request matching the header rule, the slot its sticky cookie names while
// that slot has weight, otherwise the weighted round robin. It returns -1
// when the service has no production routes, and the Set-Cookie value to
// send, if any.
func (e *entry) production(r requestInfo) (slot int, setCookie string) {
	if e.header != "" && e.test >= 0 && r.fieldIs(e.header, e.headerValue) {
		return e.test, ""
	}
	switch {
	case !e.routed:
		return -1, ""
	case e.weightB == 0:
		return 0, ""
	case e.weightB >= uint64(bluegreen.Full):
		return 1, ""
	}
	if e.cookie != "" {
		if s := r.cookieSlot(e.cookie); s >= 0 {
			return s, ""
		}
		s := e.svc.pickWeighted(e.weightB)
		return s, e.setCookie[s]
	}
	return e.svc.pickWeighted(e.weightB), ""
}

// pickWeighted returns 1 (slot B) for weightB of every 1000 requests and 0
// (slot A) for the others. It is a deterministic, evenly spread weighted
// round robin: request k of each cycle of 1000 goes to B exactly when
// floor((k+1)·w/1000) > floor(k·w/1000), so any 1000 consecutive picks send
// exactly w to B (a 0.1% canary gets exactly 1 request in 1000) and B's
// requests are evenly spaced rather than bunched.
//
// A change of weights starts the cycle where the slot whose share grew is
// picked first (firstPick), so an environment given traffic takes the next
// request: a 0.1% canary would otherwise wait for up to 1000 requests
// before its first, and a 25% step for up to 4.
func (s *service) pickWeighted(weightB uint64) int {
	k := (s.next.Add(1) - 1) % uint64(bluegreen.Full)
	if (k+1)*weightB/uint64(bluegreen.Full) != k*weightB/uint64(bluegreen.Full) {
		return 1
	}
	return 0
}

// firstPick returns the position of pickWeighted's cycle at which the slot
// whose share grew, as slot B's weight went from oldB to newB, is picked
// first: B's first position when it grew, 0 (always A's while B has less
// than all) when A's did.
func firstPick(oldB, newB uint64) uint64 {
	full := uint64(bluegreen.Full)
	if newB <= oldB || newB == 0 || newB >= full {
		return 0
	}
	// The smallest k with (k+1)·newB ≥ full.
	return (full+newB-1)/newB - 1
}
