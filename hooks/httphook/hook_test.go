package httphook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
	"github.com/google/go-cmp/cmp"
)

func TestConformance(t *testing.T) {
	bluegreentest.TestHook(t, func(t *testing.T, answer bluegreen.HookFunc) bluegreen.Hook {
		return newHook(t, answer, httphook.Options{})
	})
}

func sampleInput() bluegreen.HookInput {
	return bluegreen.HookInput{
		DeploymentID: "d-7",
		Service:      "web",
		Stage:        bluegreen.StageProductionTrafficShift,
		Step:         2,
		Blue: &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d-6",
			Revision: bluegreen.Revision{Name: "web:41", Spec: json.RawMessage(`{"env":{"DB_PASSWORD":"hunter2"}}`)}},
		Green: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "d-7",
			Revision: bluegreen.Revision{Name: "web:42", Spec: json.RawMessage(`{"env":{"DB_PASSWORD":"hunter2"}}`)}},
		Routes:  bluegreen.Routes{Production: bluegreen.Weights{A: 875, B: 125}, Test: bluegreen.SlotB},
		Attempt: 3,
		Details: json.RawMessage(`{"run":"r-1","checked":["a","b"]}`),
	}
}

// TestInProgressRoundTrip sends every field of an input to a receiver,
// which answers IN_PROGRESS with details, and checks both directions.
func TestInProgressRoundTrip(t *testing.T) {
	var (
		mu  sync.Mutex
		got []bluegreen.HookInput
	)
	answer := bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 90 * time.Second,
		Details: json.RawMessage(`{"run":"r-1","checked":["a","b","c"]}`)}
	h := newHook(t, bluegreen.HookFunc(func(_ context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		mu.Lock()
		got = append(got, in)
		mu.Unlock()
		return answer, nil
	}), httphook.Options{})
	in := sampleInput()
	res, err := h.Run(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(answer, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	// The receiver gets everything but the revisions' Spec.
	want := in
	blue := *in.Blue
	blue.Revision.Spec, want.Green.Revision.Spec = nil, nil
	want.Blue = &blue
	if diff := cmp.Diff([]bluegreen.HookInput{want}, got); diff != "" {
		t.Errorf("receiver's input (-want +got):\n%s", diff)
	}
	body, _ := json.Marshal(h.Request(in))
	if strings.Contains(string(body), "hunter2") {
		t.Errorf("request body carries a revision's Spec: %s", body)
	}
}

func TestWrongSignatureRefused(t *testing.T) {
	var calls atomic.Int32
	h := newHook(t, bluegreen.HookFunc(func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
		calls.Add(1)
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	}), httphook.Options{Secret: []byte("another-secret-of-32-bytes-long!")})
	_, err := h.Run(t.Context(), sampleInput())
	if !errors.Is(err, bluegreen.ErrPermission) {
		t.Errorf("Run with the wrong secret = %v, want an error matching bluegreen.ErrPermission", err)
	}
	var se *httphook.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Errorf("Run with the wrong secret = %v, want a 401 StatusError", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the receiver called the hook %d times for a request it should refuse", n)
	}
}

// TestReplayRefused captures a signed request and sends the same bytes
// again: accepted within the window, refused once it is older.
func TestReplayRefused(t *testing.T) {
	var captured *http.Request
	var body []byte
	capture := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		captured = r
		body, _ = readAll(r)
		return nil, errors.New("captured")
	})
	sender, err := httphook.New(httphook.Options{URL: "https://hooks.example/smoke", Secret: secret, Client: &http.Client{Transport: capture}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sender.Run(t.Context(), sampleInput())
	if captured == nil {
		t.Fatal("no request captured")
	}
	sent, err := time.Parse(time.RFC3339, "2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	ts := captured.Header.Get(httphook.TimestampHeader)
	for _, tc := range []struct {
		name    string
		at      time.Duration // receiver's clock after the capture's timestamp
		want    int
		wantErr error
	}{
		{"at once", 0, http.StatusOK, nil},
		{"4m59s later", 4*time.Minute + 59*time.Second, http.StatusOK, nil},
		{"6m later", 6 * time.Minute, http.StatusUnauthorized, httphook.ErrStale},
		{"a day later", 24 * time.Hour, http.StatusUnauthorized, httphook.ErrStale},
		{"6m earlier (clock skew)", -6 * time.Minute, http.StatusUnauthorized, httphook.ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stamped := time.Unix(mustAtoi(t, ts), 0)
			rv, err := httphook.NewHandler(httphook.HandlerOptions{Secret: secret, Now: func() time.Time { return stamped.Add(tc.at) },
				Hook: bluegreen.HookFunc(func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
					return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
				})})
			if err != nil {
				t.Fatal(err)
			}
			url, client := serveTLS(t, rv)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(string(body)))
			req.Header = captured.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("replayed request answered %d, want %d", resp.StatusCode, tc.want)
			}
			err = httphook.Verify(secret, captured.Header, body, stamped.Add(tc.at), 0)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
	_ = sent
}

func TestVerify(t *testing.T) {
	body := []byte(`{"lifecycleStage":"PRE_SCALE_UP"}`)
	now := time.Unix(1767225600, 0)
	ts := "1767225600"
	good := httphook.Sign(secret, ts, body)
	for _, tc := range []struct {
		name    string
		ts, sig string
		body    []byte
		want    error
	}{
		{"good", ts, good, body, nil},
		{"rotation: second value matches", ts, "v1=00ff, " + good, body, nil},
		{"body changed", ts, good, []byte(`{"lifecycleStage":"POST_SCALE_UP"}`), httphook.ErrBadSignature},
		{"timestamp changed", "1767225601", good, body, httphook.ErrBadSignature},
		{"no signature", ts, "", body, httphook.ErrBadSignature},
		{"unknown scheme", ts, "v0=" + strings.TrimPrefix(good, "v1="), body, httphook.ErrBadSignature},
		{"not hex", ts, "v1=zz", body, httphook.ErrBadSignature},
		{"no timestamp", "", good, body, httphook.ErrStale},
		{"signed timestamp", "+1767225600", good, body, httphook.ErrStale},
		{"fractional timestamp", "1767225600.5", good, body, httphook.ErrStale},
		{"huge timestamp", "99999999999999999999", good, body, httphook.ErrStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(httphook.TimestampHeader, tc.ts)
			h.Set(httphook.SignatureHeader, tc.sig)
			err := httphook.Verify(secret, h, tc.body, now, 0)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCallFailures checks how each failure of a call is classified: the
// Deployer calls the hook again after the callback delay for the retryable
// ones and ends it as FAILED for the others.
func TestCallFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   bluegreen.Code
	}{
		{"500", http.StatusInternalServerError, bluegreen.CodeTransient},
		{"502", http.StatusBadGateway, bluegreen.CodeTransient},
		{"503", http.StatusServiceUnavailable, bluegreen.CodeTransient},
		{"504", http.StatusGatewayTimeout, bluegreen.CodeTransient},
		{"408", http.StatusRequestTimeout, bluegreen.CodeTransient},
		{"429", http.StatusTooManyRequests, bluegreen.CodeThrottled},
		{"401", http.StatusUnauthorized, bluegreen.CodePermission},
		{"403", http.StatusForbidden, bluegreen.CodePermission},
		{"404", http.StatusNotFound, bluegreen.CodeNotFound},
		{"400", http.StatusBadRequest, bluegreen.CodeInvalid},
		{"302", http.StatusFound, bluegreen.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, client := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", "https://elsewhere.example/")
				w.WriteHeader(tc.status)
			}))
			h, err := httphook.New(httphook.Options{URL: url, Secret: secret, Client: client})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Run(t.Context(), sampleInput())
			if got := bluegreen.ErrorCode(err); got != tc.want {
				t.Errorf("Run against a %d = %v (code %v), want code %v", tc.status, err, got, tc.want)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		h, err := httphook.New(httphook.Options{URL: "http://" + addr + "/hook", Secret: secret, AllowHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Run(t.Context(), sampleInput())
		if code := bluegreen.ErrorCode(err); code != bluegreen.CodeTransient {
			t.Errorf("Run against a closed port = %v (code %v), want CodeTransient", err, code)
		}
	})
	t.Run("no answer within Timeout", func(t *testing.T) {
		release := make(chan struct{})
		url, client := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer close(release)
		h, err := httphook.New(httphook.Options{URL: url, Secret: secret, Client: client, Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Run(t.Context(), sampleInput())
		if code := bluegreen.ErrorCode(err); code != bluegreen.CodeTimeout || !code.Retryable() {
			t.Errorf("Run against a receiver that never answers = %v (code %v), want a retryable CodeTimeout", err, code)
		}
	})
	t.Run("caller canceled", func(t *testing.T) {
		release := make(chan struct{})
		url, client := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer close(release)
		h, err := httphook.New(httphook.Options{URL: url, Secret: secret, Client: client})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err = h.Run(ctx, sampleInput())
		if code := bluegreen.ErrorCode(err); code != bluegreen.CodeCanceled {
			t.Errorf("Run canceled by its caller = %v (code %v), want CodeCanceled", err, code)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		url, _ := serveTLS(t, http.NotFoundHandler())
		h, err := httphook.New(httphook.Options{URL: url, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Run(t.Context(), sampleInput())
		if code := bluegreen.ErrorCode(err); code != bluegreen.CodeFailedPrecondition {
			t.Errorf("Run against a self-signed server = %v (code %v), want CodeFailedPrecondition", err, code)
		}
	})
}

// TestAnswers checks how the receiver's answers and the hook's errors come back.
func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hook     bluegreen.HookFunc
		raw      string // a raw 200 body instead of a receiver
		want     bluegreen.HookResult
		wantCode bluegreen.Code
	}{
		{name: "failed with reason",
			hook: func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "3 of 40 checks failed"}, nil
			},
			want: bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "http hook URL answered FAILED: 3 of 40 checks failed"}},
		{name: "hook error becomes FAILED",
			hook: func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{}, errors.New("database unreachable")
			},
			want: bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "http hook URL answered FAILED: database unreachable"}},
		{name: "retryable hook error is transient",
			hook: func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{}, bluegreen.NewError(bluegreen.CodeThrottled, errors.New("busy"))
			},
			wantCode: bluegreen.CodeTransient},
		{name: "unknown status",
			hook: func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{Status: "DONE"}, nil
			},
			want: bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: `http hook URL answered FAILED: the hook answered status "DONE"`}},
		{name: "details not an object",
			hook: func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{Status: bluegreen.HookInProgress, Details: json.RawMessage(`[1]`)}, nil
			},
			want: bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "http hook URL answered FAILED: the hook answered details that are not a JSON object"}},
		{name: "sub-second delay rounds up",
			hook: func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
				return bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 1500 * time.Millisecond}, nil
			},
			want: bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 2 * time.Second}},
		{name: "malformed answer", raw: `{"hookStatus":"succeeded"}`,
			want: bluegreen.HookResult{Status: bluegreen.HookFailed,
				Reason: `http hook URL answered a malformed response: "hookStatus" is "\"succeeded\""; want SUCCEEDED, FAILED or IN_PROGRESS`}},
		{name: "empty answer", raw: ``,
			want: bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: `http hook URL answered a malformed response: response "" is not a JSON object`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var handler http.Handler = httphook.Handler(secret, tc.hook)
			if tc.hook == nil {
				handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(tc.raw)) })
			}
			url, client := serveTLS(t, handler)
			h, err := httphook.New(httphook.Options{URL: url, Secret: secret, Client: client})
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.Run(t.Context(), sampleInput())
			if tc.wantCode != 0 {
				if code := bluegreen.ErrorCode(err); code != tc.wantCode {
					t.Errorf("Run = %+v, %v (code %v), want code %v", got, err, code, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Reason = strings.ReplaceAll(got.Reason, url, "URL")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Run (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHandlerRefuses checks the receiver's answers to requests it cannot serve.
func TestHandlerRefuses(t *testing.T) {
	var calls atomic.Int32
	url, client := serveTLS(t, httphook.Handler(secret, bluegreen.HookFunc(func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
		calls.Add(1)
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})))
	now := time.Now()
	signed := func(body string) http.Header {
		ts := strconvItoa(now.Unix())
		h := http.Header{}
		h.Set(httphook.TimestampHeader, ts)
		h.Set(httphook.SignatureHeader, httphook.Sign(secret, ts, []byte(body)))
		return h
	}
	big := strings.Repeat(" ", httphook.MaxBodyBytes+1)
	for _, tc := range []struct {
		name   string
		method string
		body   string
		header http.Header
		want   int
	}{
		{"GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed},
		{"unsigned", http.MethodPost, `{}`, http.Header{}, http.StatusUnauthorized},
		{"signed, not JSON", http.MethodPost, `not json`, signed(`not json`), http.StatusBadRequest},
		{"signed, unknown stage", http.MethodPost, `{"lifecycleStage":"DEPLOY","resourceArn":"d-1"}`,
			signed(`{"lifecycleStage":"DEPLOY","resourceArn":"d-1"}`), http.StatusBadRequest},
		{"signed, stages disagree", http.MethodPost, `{"lifecycleStage":"PRE_SCALE_UP","bluegreen":{"deploymentId":"d-1","stage":"POST_SCALE_UP"}}`,
			signed(`{"lifecycleStage":"PRE_SCALE_UP","bluegreen":{"deploymentId":"d-1","stage":"POST_SCALE_UP"}}`), http.StatusBadRequest},
		{"too large", http.MethodPost, big, signed(big), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, url, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s answered %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the hook was called %d times; every request should have been refused", n)
	}
	t.Run("ECS payload only", func(t *testing.T) {
		body := `{"executionId":"x","lifecycleStage":"POST_TEST_TRAFFIC_SHIFT","resourceArn":"arn:aws:ecs:us-west-2:1:service-deployment/prod/web/d-9","hookDetails":{"a":1}}`
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
		req.Header = signed(body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || calls.Load() != 1 {
			t.Errorf("an ECS-only payload answered %d with %d hook calls, want 200 and 1", resp.StatusCode, calls.Load())
		}
	})
	t.Run("misconfigured receiver fails closed", func(t *testing.T) {
		url, client := serveTLS(t, httphook.Handler([]byte("short"), bluegreen.HookFunc(func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
			return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
		})))
		h, err := httphook.New(httphook.Options{URL: url, Secret: secret, Client: client})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Run(t.Context(), sampleInput()); bluegreen.ErrorCode(err) != bluegreen.CodeTransient {
			t.Errorf("Run against a misconfigured receiver = %v, want a 500 (CodeTransient)", err)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  httphook.Options
		field string
	}{
		{"no URL", httphook.Options{Secret: secret}, "httphook.Options.URL"},
		{"relative URL", httphook.Options{URL: "/hooks", Secret: secret}, "httphook.Options.URL"},
		{"ftp URL", httphook.Options{URL: "ftp://example.com/x", Secret: secret}, "httphook.Options.URL"},
		{"http without AllowHTTP", httphook.Options{URL: "http://example.com/x", Secret: secret}, "httphook.Options.URL"},
		{"credentials in URL", httphook.Options{URL: "https://u:p@example.com/x", Secret: secret}, "httphook.Options.URL"},
		{"short secret", httphook.Options{URL: "https://example.com/x", Secret: []byte("short")}, "httphook.Options.Secret"},
		{"negative timeout", httphook.Options{URL: "https://example.com/x", Secret: secret, Timeout: -1}, "httphook.Options.Timeout"},
		{"signature header", httphook.Options{URL: "https://example.com/x", Secret: secret,
			Header: http.Header{httphook.SignatureHeader: {"v1=00"}}}, "httphook.Options.Header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := httphook.New(tc.opts)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("New = %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		opts  httphook.HandlerOptions
		field string
	}{
		{"short secret", httphook.HandlerOptions{Secret: []byte("x"), Hook: bluegreen.HookFunc(nil)}, "httphook.HandlerOptions.Secret"},
		{"no hook", httphook.HandlerOptions{Secret: secret}, "httphook.HandlerOptions.Hook"},
		{"negative max age", httphook.HandlerOptions{Secret: secret, Hook: bluegreen.HookFunc(nil), MaxAge: -1}, "httphook.HandlerOptions.MaxAge"},
	} {
		t.Run("handler "+tc.name, func(t *testing.T) {
			_, err := httphook.NewHandler(tc.opts)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("NewHandler = %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
}
