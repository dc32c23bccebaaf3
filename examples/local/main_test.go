package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the main job, faster: three deployments of real processes
// behind the proxy under load. It shows that no request fails across a full
// deployment, and that the error-rate monitor rolls the bad release back.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and builds the sample app")
	}
	var out bytes.Buffer
	sum, err := run(t.Context(), &out, false, options{rate: 100, step: 500 * time.Millisecond, bake: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(sum.Deployments) != 3 {
		t.Fatalf("%d deployments:\n%s", len(sum.Deployments), out.String())
	}
	v1, v2, v3 := sum.Deployments[0], sum.Deployments[1], sum.Deployments[2]
	if v1.Outcome != "SUCCEEDED" || v2.Outcome != "SUCCEEDED" || v3.Outcome != "ROLLED_BACK" {
		t.Errorf("outcomes %s %s %s, want SUCCEEDED SUCCEEDED ROLLED_BACK", v1.Outcome, v2.Outcome, v3.Outcome)
	}
	if sum.Failed != 0 {
		t.Errorf("%d requests failed across the deployments", sum.Failed)
	}
	if v2.ServedBlue == 0 || v2.ServedGreen == 0 || v2.AppErrors != 0 {
		t.Errorf("v2 served %d by blue, %d by green, %d app errors: want both, and no errors", v2.ServedBlue, v2.ServedGreen, v2.AppErrors)
	}
	if !strings.Contains(v3.Rollback, "5xx") || v3.RollbackMillis <= 0 || v3.AppErrors == 0 {
		t.Errorf("v3 rollback %q after %vms with %d app errors: want the error-rate monitor", v3.Rollback, v3.RollbackMillis, v3.AppErrors)
	}
	if v3.Stages[len(v3.Stages)-1] != "PRODUCTION_TRAFFIC_SHIFT" {
		t.Errorf("v3 stages %v: want the rollback during the production shift", v3.Stages)
	}
}
