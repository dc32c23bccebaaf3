package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// The admin API is listed in the package documentation (doc.go).

// maxWindow is the largest window an error-rate query may ask for.
const maxWindow = 1 << 20

// op is an admin operation.
type op uint8

const (
	opHealthz op = iota + 1
	opPrometheus
	opServices
	opGetRoutes
	opSetRoutes
	opVerify
	opGetConfig
	opSetConfig
	opGetTargets
	opSetTargets
	opDrain
	opWindow
	opMetrics
)

// command is a decoded, validated admin request.
type command struct {
	op      op
	service string
	slot    bluegreen.Slot
	routes  bluegreen.Routes
	config  proxy.ServiceConfig
	targets []string
	n       int
}

// targetsBody is the body of PUT .../targets.
type targetsBody struct {
	Targets []string `json:"targets"`
}

// maxAdminBody bounds an admin request's body.
const maxAdminBody = 1 << 20

// adminError is a request the admin API refuses before acting on it.
type adminError struct {
	status int
	allow  string // for 405
	err    error
}

func (e *adminError) Error() string { return e.err.Error() }
func (e *adminError) Unwrap() error { return e.err }

func notFound(path string) error {
	return &adminError{status: http.StatusNotFound, err: bluegreen.NewError(bluegreen.CodeNotFound,
		fmt.Errorf("no admin endpoint %q; see the proxy package documentation for the API", path))}
}

func badInput(err error) error { return &adminError{status: http.StatusBadRequest, err: err} }

// decodeCommand parses an admin request: method, escaped path, raw query
// and body. It never acts; every error says what was wrong.
func decodeCommand(method, path, query string, body []byte) (command, error) {
	if !strings.HasPrefix(path, "/") {
		return command{}, notFound(path)
	}
	segs := strings.Split(strings.TrimSuffix(path[1:], "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return command{}, badInput(check.FieldError("path", fmt.Sprintf("segment %q is badly escaped", s), "percent-encode path segments"))
		}
		segs[i] = u
	}
	var c command
	var allow string
	switch {
	case len(segs) == 1 && segs[0] == "healthz":
		c.op, allow = opHealthz, http.MethodGet
	case len(segs) == 1 && segs[0] == "metrics":
		c.op, allow = opPrometheus, http.MethodGet
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "services":
		c.op, allow = opServices, http.MethodGet
	case len(segs) == 4 && segs[0] == "v1" && segs[1] == "services":
		c.service = segs[2]
		switch segs[3] {
		case "routes":
			c.op, allow = pick(method, opGetRoutes, opSetRoutes), "GET, PUT"
		case "verify":
			c.op, allow = opVerify, http.MethodPost
		case "config":
			c.op, allow = pick(method, opGetConfig, opSetConfig), "GET, PUT"
		default:
			return command{}, notFound(path)
		}
	case len(segs) == 6 && segs[0] == "v1" && segs[1] == "services" && segs[3] == "slots":
		c.service, c.slot = segs[2], bluegreen.Slot(segs[4])
		switch segs[5] {
		case "targets":
			c.op, allow = pick(method, opGetTargets, opSetTargets), "GET, PUT"
		case "drain":
			c.op, allow = opDrain, http.MethodPost
		case "window":
			c.op, allow = opWindow, http.MethodGet
		case "metrics":
			c.op, allow = opMetrics, http.MethodGet
		default:
			return command{}, notFound(path)
		}
	default:
		return command{}, notFound(path)
	}
	if !methodAllowed(method, allow) {
		return command{}, &adminError{status: http.StatusMethodNotAllowed, allow: allow,
			err: badInput(check.FieldError("method", method+" not allowed on "+path, "use "+allow))}
	}
	if len(segs) >= 4 {
		if err := check.ServiceName("service", c.service); err != nil {
			return command{}, badInput(err)
		}
	}
	if len(segs) == 6 {
		if err := check.Slot("slot", c.slot); err != nil {
			return command{}, badInput(err)
		}
	}
	if err := c.decodeBody(body); err != nil {
		return command{}, badInput(err)
	}
	if err := c.decodeQuery(query); err != nil {
		return command{}, badInput(err)
	}
	return c, nil
}

func (c *command) decodeBody(body []byte) error {
	switch c.op {
	case opSetRoutes, opVerify:
		if err := check.StrictJSON(body, &c.routes); err != nil {
			return check.FieldError("body", err.Error(), `send routes such as {"production":{"a":900,"b":100},"test":"B"}`)
		}
		return c.routes.Validate()
	case opSetConfig:
		if err := check.StrictJSON(body, &c.config); err != nil {
			var ce *bluegreen.ConfigError
			if errors.As(err, &ce) {
				return err
			}
			return check.FieldError("body", err.Error(), `send a service configuration such as {"hosts":["app.example.com"],"healthCheck":{"path":"/healthz"}}`)
		}
		return nil
	case opSetTargets:
		var b targetsBody
		if err := check.StrictJSON(body, &b); err != nil {
			return check.FieldError("body", err.Error(), `send {"targets":["127.0.0.1:8001"]}`)
		}
		if b.Targets == nil {
			return check.FieldError("targets", "missing", `send {"targets":[]} to remove every instance`)
		}
		norm, err := check.Targets(b.Targets)
		if err != nil {
			return err
		}
		c.targets = norm
		return nil
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		return check.FieldError("body", "not empty", "send no body with this request")
	}
	return nil
}

func (c *command) decodeQuery(query string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return check.FieldError("query", "badly encoded", "percent-encode the query")
	}
	for k := range q {
		if c.op != opWindow || k != "n" {
			return check.FieldError("query."+k, "unknown parameter", "remove it")
		}
	}
	if s := q.Get("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxWindow {
			return check.FieldError("query.n", fmt.Sprintf("%q is not a count between 1 and %d", s, maxWindow), "send n=1000, or no n for the whole window")
		}
		c.n = n
	}
	return nil
}

// pick returns get for GET (and HEAD) requests and set for the others.
func pick(method string, get, set op) op {
	if method == http.MethodGet || method == http.MethodHead {
		return get
	}
	return set
}

func methodAllowed(method, allow string) bool {
	for m := range strings.SplitSeq(allow, ", ") {
		if method == m || (method == http.MethodHead && m == http.MethodGet) {
			return true
		}
	}
	return false
}
