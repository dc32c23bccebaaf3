package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
)

// handlerClient serves HTTP requests with h in process (no sockets, so
// it runs inside a synctest bubble).
func handlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRun deploys with the command's run against the CodeDeploy fake in
// virtual time: a linear deployment whose smoke test passes goes live;
// one whose smoke test fails is stopped and rolled back. It reports the
// CodeDeploy calls of the first deployment.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := awsfake.NewCodeDeploy(awsfake.CodeDeployOptions{})
		fake.CreateDeploymentGroup(awsfake.CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", ReadyWait: time.Hour, TerminationWait: time.Hour})
		client := codedeploy.NewFromConfig(awsfake.InProcessConfig(fake))
		healthy := true
		smoke := handlerClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !healthy {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		o, err := parseFlags(strings.Fields("-app shop -group web -container web -port 8080 -task-definition web:2 -smoke-url http://test.invalid/healthz -bake 5m -poll 15s"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		res, err := run(t.Context(), client, smoke, o, &out)
		if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("web:2: %s, %v\n%s", res.Outcome, err, out.String())
		}
		calls := fake.Faults.Calls()
		total := 0
		for _, n := range calls {
			total += n
		}
		t.Logf("CodeDeploy calls for a linear (10%% every minute) deployment with a Go smoke test, polled every 15s: %d %v", total, calls)
		if calls["CreateDeployment"] != 1 || calls["ContinueDeployment"] != 2 || calls["ListDeploymentTargets"] != 1 || calls["StopDeployment"] != 0 {
			t.Errorf("calls %v", calls)
		}
		if !strings.Contains(out.String(), "HOOK_ANSWERED POST_TEST_TRAFFIC_SHIFT") {
			t.Errorf("no smoke test in the output:\n%s", out.String())
		}

		healthy = false
		o.taskDefinition = "web:3"
		res, err = run(t.Context(), client, smoke, o, io.Discard)
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.By != "smoke" {
			t.Fatalf("web:3 with a failing smoke test: %v %+v", err, res.Rollback)
		}
		deps := fake.Deployments()
		got := []string{}
		for _, d := range deps {
			got = append(got, d.TaskDefinition+" "+d.Status)
		}
		if want := []string{"web:2 Succeeded", "web:3 Stopped", "web:3 Succeeded"}; !slices.Equal(want, got) {
			t.Errorf("CodeDeploy deployments %v, want %v (the third is the rollback)", got, want)
		}
	})
}

func TestFlags(t *testing.T) {
	for _, args := range []string{"-app shop", "-app a -group g -container c -port 1", "-app a -group g -task-definition t", "-app a -group g -container c -port 1 -task-definition t extra"} {
		if _, err := parseFlags(strings.Fields(args), io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
	o, err := parseFlags(strings.Fields("-app a -group g -container c -port 1 -task-definition t -shift sideways"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.shiftStrategy(); err == nil {
		t.Error("-shift sideways accepted")
	}
}
