package awsfake

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func newLambdaClient(t *testing.T) (*Lambda, *lambda.Client) {
	t.Helper()
	fake := NewLambda()
	return fake, lambda.NewFromConfig(Config(ServeTest(t, fake)))
}

func TestLambdaInvoke(t *testing.T) {
	fake, client := newLambdaClient(t)
	fake.SetFunction("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil })
	fake.SetFunction("boom", func(context.Context, []byte) ([]byte, error) {
		return nil, &LambdaError{Type: "Runtime.ExitError", Message: "exit status 2"}
	})
	fake.SetFunction("plain", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("plain failure") })

	tests := []struct {
		name          string
		function      string
		qualifier     string
		payload       string
		wantPayload   string
		wantFuncError string
		wantCall      Invocation
	}{
		{name: "by name", function: "echo", payload: `{"a":1}`, wantPayload: `{"a":1}`,
			wantCall: Invocation{Function: "echo", Payload: []byte(`{"a":1}`)}},
		{name: "by ARN with qualifier", function: "arn:aws:lambda:us-east-1:123456789012:function:echo:live", payload: `[]`, wantPayload: `[]`,
			wantCall: Invocation{Function: "echo", Qualifier: "live", Payload: []byte(`[]`)}},
		{name: "partial ARN and Qualifier parameter", function: "123456789012:function:echo", qualifier: "7", payload: `"x"`, wantPayload: `"x"`,
			wantCall: Invocation{Function: "echo", Qualifier: "7", Payload: []byte(`"x"`)}},
		{name: "typed function error", function: "boom", payload: `{}`, wantFuncError: "Unhandled",
			wantPayload: `{"errorMessage":"exit status 2","errorType":"Runtime.ExitError"}` + "\n",
			wantCall:    Invocation{Function: "boom", Payload: []byte(`{}`)}},
		{name: "plain function error", function: "plain", payload: `{}`, wantFuncError: "Unhandled",
			wantPayload: `{"errorMessage":"plain failure","errorType":"Error"}` + "\n",
			wantCall:    Invocation{Function: "plain", Payload: []byte(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &lambda.InvokeInput{FunctionName: aws.String(tt.function), Payload: []byte(tt.payload)}
			if tt.qualifier != "" {
				in.Qualifier = aws.String(tt.qualifier)
			}
			out, err := client.Invoke(t.Context(), in)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if out.StatusCode != 200 {
				t.Errorf("StatusCode = %d, want 200", out.StatusCode)
			}
			if got := aws.ToString(out.FunctionError); got != tt.wantFuncError {
				t.Errorf("FunctionError = %q, want %q", got, tt.wantFuncError)
			}
			if string(out.Payload) != tt.wantPayload {
				t.Errorf("Payload = %s, want %s", out.Payload, tt.wantPayload)
			}
			calls := fake.Invocations()
			if diff := cmp.Diff(tt.wantCall, calls[len(calls)-1]); diff != "" {
				t.Errorf("recorded invocation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLambdaUnknownFunction(t *testing.T) {
	_, client := newLambdaClient(t)
	_, err := client.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("missing"), Payload: []byte(`{}`)})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("Invoke of a missing function: err = %v, want ResourceNotFoundException", err)
	}
}

func TestLambdaFaults(t *testing.T) {
	tests := []struct {
		name      string
		rule      Rule
		wantCode  string // "" for success
		wantCalls int
	}{
		{name: "throttled twice then served", rule: Rule{Op: "Invoke", Fault: Throttling(), Times: 2}, wantCalls: 3},
		{name: "429 retried", rule: Rule{Op: "Invoke", Fault: Fault{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}, Times: 1}, wantCalls: 2},
		{name: "persistent 500", rule: Rule{Op: "Invoke", Fault: InternalError()}, wantCode: "InternalFailure", wantCalls: 3},
		{name: "access denied is not retried", rule: Rule{Fault: Fault{Status: 403, Code: "AccessDeniedException", Message: "no"}}, wantCode: "AccessDeniedException", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client := newLambdaClient(t)
			fake.SetFunction("f", func(context.Context, []byte) ([]byte, error) { return []byte(`"ok"`), nil })
			fake.Faults.Add(tt.rule)
			_, err := client.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("f")})
			var apiErr smithy.APIError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("Invoke: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode):
				t.Fatalf("Invoke: err = %v, want API error %s", err, tt.wantCode)
			}
			if got := fake.Faults.Calls()["Invoke"]; got != tt.wantCalls {
				t.Errorf("Invoke calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestLambdaResolveName(t *testing.T) {
	tests := []struct{ in, function, qualifier string }{
		{"f", "f", ""},
		{"f:3", "f", "3"},
		{"123456789012:function:f", "f", ""},
		{"123456789012:function:f:$LATEST", "f", "$LATEST"},
		{"arn:aws:lambda:eu-west-1:123456789012:function:f", "f", ""},
		{"arn:aws:lambda:eu-west-1:123456789012:function:f:prod", "f", "prod"},
	}
	for _, tt := range tests {
		f, q := lambdaResolveName(tt.in)
		if f != tt.function || q != tt.qualifier {
			t.Errorf("lambdaResolveName(%q) = %q, %q; want %q, %q", tt.in, f, q, tt.function, tt.qualifier)
		}
	}
}

func ExampleLambda() {
	fake := NewLambda()
	fake.SetFunction("hello", func(_ context.Context, payload []byte) ([]byte, error) {
		return []byte(`{"greeting":"hello"}`), nil
	})
	url, closeServer := Serve(fake)
	defer closeServer()

	client := lambda.NewFromConfig(Config(url))
	out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: []byte(`{}`)})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(out.StatusCode, string(out.Payload), fake.Faults.Calls()["Invoke"])
	// Output: 200 {"greeting":"hello"} 1
}
