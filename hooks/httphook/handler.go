package httphook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/hookwire"
)

// HandlerOptions configure a receiver made with NewHandler.
type HandlerOptions struct {
	// Secret is the key shared with the Hook; at least MinSecretLen bytes.
	// Required.
	Secret []byte
	// Hook answers the verified requests. Required.
	Hook bluegreen.Hook
	// MaxAge is how far a request's timestamp may be from now, either way;
	// DefaultMaxAge if zero.
	MaxAge time.Duration
	// Logger receives a debug record per request refused or answered
	// (never bodies or details). Nothing is logged if nil.
	Logger *slog.Logger
	// Now is the receiver's clock; time.Now if nil.
	Now func() time.Time
}

// Handler returns an http.Handler that verifies each request's signature
// and timestamp (see Verify) with secret, decodes it (see DecodeRequest),
// calls hook and answers with its result. A receiver misconfigured (a
// secret shorter than MinSecretLen, a nil hook) answers every request 500,
// so that a deployment fails closed rather than passing unchecked; use
// NewHandler to get the error instead.
func Handler(secret []byte, hook bluegreen.Hook) http.Handler {
	h, err := NewHandler(HandlerOptions{Secret: secret, Hook: hook})
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusInternalServerError, "httphook receiver misconfigured: "+err.Error())
		})
	}
	return h
}

// NewHandler returns the receiver Handler describes, with more options.
func NewHandler(o HandlerOptions) (http.Handler, error) {
	if len(o.Secret) < MinSecretLen {
		return nil, &bluegreen.ConfigError{Field: "httphook.HandlerOptions.Secret", Problem: fmt.Sprintf("%d bytes", len(o.Secret)),
			Fix: fmt.Sprintf("use the secret the Hook signs with: at least %d bytes", MinSecretLen)}
	}
	if o.Hook == nil {
		return nil, &bluegreen.ConfigError{Field: "httphook.HandlerOptions.Hook", Problem: "nil", Fix: "pass the hook to call, such as a bluegreen.HookFunc"}
	}
	if o.MaxAge < 0 {
		return nil, &bluegreen.ConfigError{Field: "httphook.HandlerOptions.MaxAge", Problem: "negative", Fix: "use 0 for 5 minutes, or a positive duration"}
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Secret = bytes.Clone(o.Secret)
	return &receiver{opts: o}, nil
}

type receiver struct {
	opts HandlerOptions
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "POST a hook request")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if err := Verify(rv.opts.Secret, r.Header, body, rv.opts.Now(), rv.opts.MaxAge); err != nil {
		rv.opts.Logger.DebugContext(r.Context(), "http hook request refused", "remote", r.RemoteAddr, "err", err)
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	in, err := DecodeRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := rv.opts.Hook.Run(r.Context(), in)
	if err != nil {
		if bluegreen.ErrorCode(err).Retryable() {
			// The sender classifies 503 as transient and calls again after
			// the callback delay.
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		res = bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: err.Error()}
	}
	rv.opts.Logger.DebugContext(r.Context(), "http hook answered", "deployment", in.DeploymentID, "stage", in.Stage, "status", res.Status)
	writeJSON(w, http.StatusOK, answerOf(res))
}

// answer is a receiver's response body: the ECS answer and a reason.
type answer struct {
	Response
	Reason string `json:"reason,omitempty"`
}

// answerOf encodes a hook's result: an unknown status or details that are
// not a JSON object become FAILED with the reason, and the callback delay
// is rounded up to whole seconds.
func answerOf(res bluegreen.HookResult) answer {
	if _, err := bluegreen.ParseHookStatus(string(res.Status)); err != nil {
		return answer{Response: Response{HookStatus: string(bluegreen.HookFailed)}, Reason: fmt.Sprintf("the hook answered status %q", res.Status)}
	}
	a := answer{Response: Response{HookStatus: string(res.Status)}, Reason: res.Reason}
	if d := bytes.TrimSpace(res.Details); len(d) > 0 && string(d) != "null" {
		var obj map[string]json.RawMessage
		if json.Unmarshal(d, &obj) != nil {
			return answer{Response: Response{HookStatus: string(bluegreen.HookFailed)}, Reason: "the hook answered details that are not a JSON object"}
		}
		a.HookDetails = d
	}
	if res.CallbackDelay > 0 {
		a.CallBackDelay = int(math.Ceil(min(res.CallbackDelay, MaxCallBackDelay).Seconds()))
	}
	return a
}

// MaxCallBackDelay is the longest callBackDelay a Hook accepts: a day.
const MaxCallBackDelay = hookwire.MaxCallBackDelay

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
