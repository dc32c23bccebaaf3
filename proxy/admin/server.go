package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// Handler returns the admin API's handler for p (see the package
// documentation for its endpoints). If token is not empty, every request
// must carry "Authorization: Bearer <token>".
func Handler(p *proxy.Proxy, token string) http.Handler {
	return &adminHandler{p: p, token: []byte(token)}
}

type adminHandler struct {
	p     *proxy.Proxy
	token []byte
}

// errorBody is the JSON form of an admin error.
type errorBody struct {
	Error   string `json:"error"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Problem string `json:"problem,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

func (h *adminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.token) > 0 && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bluegreen-proxy"`)
		writeError(w, http.StatusUnauthorized, bluegreen.NewError(bluegreen.CodePermission,
			errors.New("missing or wrong admin token; send Authorization: Bearer <token>")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, check.FieldError("body", "larger than 1 MiB or unreadable", "send a smaller body"))
		return
	}
	c, err := decodeCommand(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, body)
	if err != nil {
		var ae *adminError
		if errors.As(err, &ae) {
			if ae.allow != "" {
				w.Header().Set("Allow", ae.allow)
			}
			writeError(w, ae.status, ae.err)
			return
		}
		writeError(w, http.StatusBadRequest, err)
		return
	}
	out, err := exec(h.p, r, c)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	switch v := out.(type) {
	case nil:
		w.WriteHeader(http.StatusNoContent)
	case string:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, v)
	case promText:
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		h.p.WritePrometheus(w)
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

func (h *adminHandler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), h.token) == 1
}

// promText asks ServeHTTP to write the Prometheus metrics.
type promText struct{}

type verifyBody struct {
	InForce bool `json:"inForce"`
}

type servicesBody struct {
	Services []string `json:"services"`
}

type targetStatusBody struct {
	Targets []proxy.TargetStatus `json:"targets"`
}

// exec runs a decoded command and returns what to answer: nil for 204, a
// string for plain text, promText, or a value to encode as JSON.
func exec(p *proxy.Proxy, r *http.Request, c command) (any, error) {
	ctx := r.Context()
	switch c.op {
	case opHealthz:
		return "ok\n", nil
	case opPrometheus:
		return promText{}, nil
	case opServices:
		names, err := p.Services(ctx)
		return servicesBody{names}, err
	case opGetRoutes:
		return p.Routes(ctx, c.service)
	case opSetRoutes:
		return nil, p.SetRoutes(ctx, c.service, c.routes)
	case opVerify:
		ok, err := p.Verify(ctx, c.service, c.routes)
		return verifyBody{ok}, err
	case opGetConfig:
		return p.ServiceConfig(ctx, c.service)
	case opSetConfig:
		return nil, p.ConfigureService(ctx, c.service, c.config)
	case opGetTargets:
		ts, err := p.Targets(ctx, c.service, c.slot)
		return targetStatusBody{ts}, err
	case opSetTargets:
		return nil, p.SetTargets(ctx, c.service, c.slot, c.targets)
	case opDrain:
		return nil, p.Drain(ctx, c.service, c.slot)
	case opWindow:
		return p.ErrorWindow(ctx, c.service, c.slot, c.n)
	case opMetrics:
		return p.Metrics(ctx, c.service, c.slot)
	}
	return nil, notFound(r.URL.Path)
}

// statusOf maps an error of a Proxy method to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, bluegreen.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, proxy.ErrClosed):
		return http.StatusServiceUnavailable
	}
	switch bluegreen.ErrorCode(err) {
	case bluegreen.CodeNotFound:
		return http.StatusNotFound
	case bluegreen.CodeFailedPrecondition:
		return http.StatusConflict
	case bluegreen.CodePermission:
		return http.StatusForbidden
	case bluegreen.CodeCanceled, bluegreen.CodeTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, status int, err error) {
	b := errorBody{Error: err.Error(), Code: bluegreen.ErrorCode(err).String()}
	var ce *bluegreen.ConfigError
	if errors.As(err, &ce) {
		b.Code = bluegreen.CodeInvalid.String()
		b.Field, b.Problem, b.Fix = ce.Field, ce.Problem, ce.Fix
	}
	if errors.Is(err, proxy.ErrClosed) {
		b.Code = bluegreen.CodeTransient.String()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(b)
}
