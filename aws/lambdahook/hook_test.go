package lambdahook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// unusedClient fails every call, for tests that never invoke.
type unusedClient struct{}

func (unusedClient) Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return nil, errors.New("unused client called")
}

// ecsFunction adapts a bluegreen.HookFunc into a Lambda function that speaks
// the ECS hook contract, as a user's function would.
func ecsFunction(answer bluegreen.HookFunc) awsfake.LambdaFunc {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var p lambdahook.Payload
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		stage, err := bluegreen.ParseStage(p.LifecycleStage)
		if err != nil {
			return nil, err
		}
		res, err := answer(ctx, bluegreen.HookInput{
			DeploymentID: p.ResourceARN[strings.LastIndex(p.ResourceARN, "/")+1:],
			Stage:        stage,
			Details:      p.HookDetails,
		})
		if err != nil {
			return nil, err
		}
		return json.Marshal(lambdahook.Response{HookStatus: string(res.Status), CallBackDelay: int(res.CallbackDelay / time.Second), HookDetails: res.Details})
	}
}

// newHook serves fake and returns a Hook invoking its function "hook".
func newHook(t *testing.T, fake *awsfake.Lambda, o lambdahook.Options) *lambdahook.Hook {
	t.Helper()
	if o.Client == nil {
		o.Client = lambda.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
	}
	if o.Function == "" {
		o.Function = "hook"
	}
	h, err := lambdahook.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConformance(t *testing.T) {
	bluegreentest.TestHook(t, func(t *testing.T, answer bluegreen.HookFunc) bluegreen.Hook {
		fake := awsfake.NewLambda()
		fake.SetFunction("hook", ecsFunction(answer))
		return newHook(t, fake, lambdahook.Options{ServiceARN: func(s string) string { return "arn:aws:ecs:us-east-1:123456789012:service/c/" + s }})
	})
}

func sampleInput() bluegreen.HookInput {
	blue, green := envs()
	return bluegreen.HookInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StagePostTestTrafficShift, Blue: blue, Green: green,
		Routes: bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, Attempt: 1,
		Details: json.RawMessage(`{"token":"s3cr3t"}`)}
}

func TestRunFailedAnswers(t *testing.T) {
	tests := []struct {
		name       string
		fn         awsfake.LambdaFunc
		wantReason string
	}{
		{"function error", func(context.Context, []byte) ([]byte, error) {
			return nil, &awsfake.LambdaError{Type: "Runtime.ExitError", Message: "RequestId: 1 Error: Runtime exited with error: exit status 1"}
		}, "lambda function hook failed (Unhandled): Runtime.ExitError: RequestId: 1 Error: Runtime exited with error: exit status 1"},
		{"FAILED answer", func(context.Context, []byte) ([]byte, error) { return []byte(`{"hookStatus":"FAILED"}`), nil },
			"lambda function hook answered FAILED"},
		{"no answer", func(context.Context, []byte) ([]byte, error) { return nil, nil },
			"lambda function hook answered a malformed response: response \"\" is not a JSON object"},
		{"Python's None", func(context.Context, []byte) ([]byte, error) { return []byte("null"), nil },
			"malformed response: response \"null\" is not a JSON object"},
		{"JSON in a string", func(context.Context, []byte) ([]byte, error) { return []byte(`"{\"hookStatus\":\"SUCCEEDED\"}"`), nil },
			"malformed response: response"},
		{"unknown status", func(context.Context, []byte) ([]byte, error) { return []byte(`{"hookStatus":"OK"}`), nil },
			`malformed response: "hookStatus" is "\"OK\""; want SUCCEEDED, FAILED or IN_PROGRESS`},
		{"delay as a string", func(context.Context, []byte) ([]byte, error) {
			return []byte(`{"hookStatus":"IN_PROGRESS","callBackDelay":"60"}`), nil
		}, `"callBackDelay" is "\"60\"", not a number of seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewLambda()
			fake.SetFunction("hook", tt.fn)
			res, err := newHook(t, fake, lambdahook.Options{}).Run(t.Context(), sampleInput())
			if err != nil {
				t.Fatalf("Run: %v; want a FAILED result, not an error", err)
			}
			if res.Status != bluegreen.HookFailed || !strings.Contains(res.Reason, tt.wantReason) {
				t.Errorf("Run = %+v; want FAILED with a reason containing %q", res, tt.wantReason)
			}
			if strings.Contains(res.Reason, "s3cr3t") {
				t.Errorf("the reason %q leaks hook details", res.Reason)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name      string
		function  string
		rule      *awsfake.Rule
		ctx       func(context.Context) context.Context
		wantCode  bluegreen.Code
		wantCalls int
	}{
		{name: "missing function", function: "missing", wantCode: bluegreen.CodeNotFound, wantCalls: 1},
		{name: "throttled", rule: &awsfake.Rule{Op: "Invoke", Fault: awsfake.Fault{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}},
			wantCode: bluegreen.CodeThrottled, wantCalls: 3},
		{name: "5xx", rule: &awsfake.Rule{Op: "Invoke", Fault: awsfake.Fault{Status: 500, Code: "ServiceException", Message: "oops"}},
			wantCode: bluegreen.CodeTransient, wantCalls: 3},
		{name: "function being updated", rule: &awsfake.Rule{Op: "Invoke", Fault: awsfake.Fault{Status: 409, Code: "ResourceConflictException", Message: "An update is in progress"}},
			wantCode: bluegreen.CodeTransient, wantCalls: 1},
		{name: "access denied", rule: &awsfake.Rule{Op: "Invoke", Fault: awsfake.Fault{Status: 403, Code: "AccessDeniedException", Message: "not authorized"}},
			wantCode: bluegreen.CodePermission, wantCalls: 1},
		{name: "canceled", ctx: func(ctx context.Context) context.Context {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx
		}, wantCode: bluegreen.CodeCanceled, wantCalls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewLambda()
			fake.SetFunction("hook", func(context.Context, []byte) ([]byte, error) { return []byte(`{"hookStatus":"SUCCEEDED"}`), nil })
			if tt.rule != nil {
				fake.Faults.Add(*tt.rule)
			}
			h := newHook(t, fake, lambdahook.Options{Function: tt.function})
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			res, err := h.Run(ctx, sampleInput())
			if err == nil {
				t.Fatalf("Run = %+v, nil; want an error", res)
			}
			if got := bluegreen.ErrorCode(err); got != tt.wantCode {
				t.Errorf("ErrorCode(%v) = %v, want %v", err, got, tt.wantCode)
			}
			if got := h.ErrorCode(errors.Unwrap(err)); got != tt.wantCode {
				t.Errorf("Hook.ErrorCode of the raw error = %v, want %v", got, tt.wantCode)
			}
			if got := fake.Faults.Calls()["Invoke"]; got != tt.wantCalls {
				t.Errorf("Invoke calls = %d, want %d (the SDK retries; the hook adds no loop)", got, tt.wantCalls)
			}
		})
	}
}

func TestRunRetriedByTheSDK(t *testing.T) {
	fake := awsfake.NewLambda()
	fake.SetFunction("hook", func(context.Context, []byte) ([]byte, error) { return []byte(`{"hookStatus":"SUCCEEDED"}`), nil })
	fake.Faults.Add(awsfake.Rule{Op: "Invoke", Fault: awsfake.Throttling(), Times: 2})
	res, err := newHook(t, fake, lambdahook.Options{}).Run(t.Context(), sampleInput())
	if err != nil || res.Status != bluegreen.HookSucceeded {
		t.Fatalf("Run = %+v, %v; want SUCCEEDED after the SDK's retries", res, err)
	}
	if got := fake.Faults.Calls()["Invoke"]; got != 3 {
		t.Errorf("Invoke calls = %d, want 3", got)
	}
}

func TestRunConnectionRefused(t *testing.T) {
	url, closeServer := awsfake.Serve(awsfake.NewLambda())
	closeServer()
	h, err := lambdahook.New(lambdahook.Options{Client: lambda.NewFromConfig(awsfake.Config(url)), Function: "hook"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Run(t.Context(), sampleInput())
	if !errors.Is(err, bluegreen.ErrTransient) {
		t.Errorf("Run against a closed port: err = %v, want CodeTransient", err)
	}
}

func TestRunSendsQualifierAndPayload(t *testing.T) {
	fake := awsfake.NewLambda()
	fake.SetFunction("hook", func(context.Context, []byte) ([]byte, error) { return []byte(`{"hookStatus":"SUCCEEDED"}`), nil })
	var logs bytes.Buffer
	h := newHook(t, fake, lambdahook.Options{Qualifier: "live", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	in := sampleInput()
	if _, err := h.Run(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	calls := fake.Invocations()
	if len(calls) != 1 || calls[0].Qualifier != "live" {
		t.Fatalf("invocations = %v, want one of qualifier live", calls)
	}
	want, err := json.Marshal(h.Payload(in))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(calls[0].Payload, want) {
		t.Errorf("payload sent = %s, want %s", calls[0].Payload, want)
	}
	if !strings.Contains(logs.String(), "lambda hook answered") || strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("debug log %q: want the answer logged without hook details", logs.String())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]lambdahook.Options{
		"Client":   {Function: "hook"},
		"Function": {Client: unusedClient{}, Function: " "},
	} {
		_, err := lambdahook.New(o)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || !strings.HasSuffix(ce.Field, name) {
			t.Errorf("New without %s: err = %v, want a ConfigError naming the field", name, err)
		}
	}
}
