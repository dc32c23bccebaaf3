package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
)

// TestRun deploys twice to the Lambda fake with an HTTP smoke test on
// loopback: version 1, then version 2 in two linear steps.
func TestRun(t *testing.T) {
	fake := awsfake.NewLambda()
	if err := fake.AddFunction(awsfake.LambdaFunction{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	secret := "0123456789abcdef0123456789abcdef"
	var hookCalls int
	srv := httptest.NewServer(httphook.Handler([]byte(secret), bluegreen.HookFunc(func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
		hookCalls++
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})))
	defer srv.Close()
	cfg := awsfake.Config(awsfake.ServeTest(t, fake))
	env := func(string) string { return secret }
	for _, key := range []string{"orders/1.zip", "orders/2.zip"} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), cfg, []string{"-function", "orders", "-s3-bucket", "artifacts", "-s3-key", key,
			"-shift", "linear:50:0s", "-bake", "0s", "-hook-url", srv.URL + "/smoke"}, env, &out, &errOut)
		if code != 0 {
			t.Fatalf("run %s = %d: %s%s", key, code, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "is live on alias live of orders") {
			t.Errorf("output of %s:\n%s", key, out.String())
		}
	}
	if live := fake.Aliases("orders")["live"]; live.FunctionVersion != "2" || len(live.AdditionalVersionWeights) != 0 {
		t.Errorf("live = %+v, want version 2 alone", live)
	}
	if hookCalls != 2 {
		t.Errorf("smoke test called %d times, want 2", hookCalls)
	}
	var errOut bytes.Buffer
	if code := run(t.Context(), cfg, []string{"-function", "orders", "-image", "x", "-version", "2"}, env, &bytes.Buffer{}, &errOut); code != 2 {
		t.Errorf("two code sources: exit %d, want 2 (%s)", code, errOut.String())
	}
}
