package aws_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// tenSteps is the deployment whose AWS calls are counted: a linear shift of
// 10% every 50ms (10 steps), the Lambda hook, the alarms and a bake time.
var tenSteps = tuning{shift: bluegreen.Linear(10, 50*time.Millisecond), bake: 300 * time.Millisecond}

// formatCalls prints calls by operation, one per line, with a total.
func formatCalls(calls map[string]int, per int) string {
	var b strings.Builder
	total := 0
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		fmt.Fprintf(&b, "  %-45s %6d", op, calls[op])
		if per > 1 {
			fmt.Fprintf(&b, "  (%.1f per deployment)", float64(calls[op])/float64(per))
		}
		b.WriteByte('\n')
		total += calls[op]
	}
	fmt.Fprintf(&b, "  %-45s %6d", "total", total)
	if per > 1 {
		fmt.Fprintf(&b, "  (%.1f per deployment)", float64(total)/float64(per))
	}
	return b.String()
}

// TestCallsOfOneDeployment counts the AWS API calls of one linear
// deployment with 10 steps, one hook and one service's alarms (a second
// revision: blue exists, so every stage runs). The calls that do not depend
// on timing are checked exactly; the polls (DescribeAlarms every
// MonitorInterval, DescribeTaskSets while green starts) are logged.
func TestCallsOfOneDeployment(t *testing.T) {
	w := newWorld(t)
	s := w.addService(t, "web", false)
	d := w.deployer(t, []service{s}, tenSteps)
	firstDeployment(t, w, d, s)

	before := w.calls()
	start := time.Now()
	res, err, evs := deploy(t, d, s.name, revision(s.name, 2))
	elapsed := time.Since(start)
	if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
		t.Fatalf("Deploy = %s, %v (stages %s)", res.Outcome, err, stages(evs))
	}
	calls := since(before, w.calls())
	t.Logf("AWS API calls of one linear deployment (10 steps of 50ms, 1 hook, 2 alarms, bake 300ms, monitor interval 20ms) in %v:\n%s",
		elapsed.Round(time.Millisecond), formatCalls(calls, 1))

	exact := map[string]int{
		"ecs:CreateTaskSet":                               1,  // green
		"ecs:UpdateTaskSet":                               1,  // blue to 0%
		"ecs:DeleteTaskSet":                               1,  // blue
		"ecs:UpdateServicePrimaryTaskSet":                 1,  // green becomes primary as blue leaves
		"elasticloadbalancing:ModifyRule":                 11, // the test rule, then the production rule at each step
		"lambda:InvokeFunction":                           1,
		"application-autoscaling:DescribeScalableTargets": 3, // Snapshot, Prepare, Restore
		"application-autoscaling:RegisterScalableTarget":  2, // suspend scale-in, restore
		"dynamodb:GetItem":                                1,
	}
	got := map[string]int{}
	for op := range exact {
		got[op] = calls[op]
	}
	if diff := cmp.Diff(exact, got); diff != "" {
		t.Errorf("calls that do not depend on timing (-want +got):\n%s", diff)
	}
	w.checkLive(t, s, res.Green, bluegreen.OutcomeSucceeded)
}

// TestCallsOfConcurrentDeployments runs 100 deployments of 100 services
// at once in one process — one Deployer, one set of SDK clients, one set
// of fakes — and logs the AWS API calls in total and per deployment, and
// the wall time. Every deployment must succeed and leave its service as
// one deployment alone would. Under the race detector, which makes each
// SDK call several times slower on CI's two cores, it runs 20.
func TestCallsOfConcurrentDeployments(t *testing.T) {
	if testing.Short() {
		t.Skip("100 concurrent deployments; skipped with -short")
	}
	n := 100
	if raceEnabled {
		n = 20
	}
	w := newWorld(t)
	services := make([]service, n)
	for i := range services {
		services[i] = w.addService(t, fmt.Sprintf("svc-%03d", i), false)
	}
	d := w.deployer(t, services, tenSteps)

	// deployAll deploys revision rev of every service at once.
	deployAll := func(rev int) ([]bluegreen.Result, time.Duration) {
		results := make([]bluegreen.Result, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i, s := range services {
			wg.Go(func() {
				res, err, evs := deploy(t, d, s.name, revision(s.name, rev))
				if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
					t.Errorf("%s revision %d: %s, %v (stages %s)", s.name, rev, res.Outcome, err, stages(evs))
				}
				results[i] = res
			})
		}
		wg.Wait()
		return results, time.Since(start)
	}

	before := w.calls()
	_, firstWall := deployAll(1)
	firstCalls := since(before, w.calls())
	if t.Failed() {
		t.FailNow()
	}
	before = w.calls()
	results, wall := deployAll(2)
	calls := since(before, w.calls())
	t.Logf("first deployments of %d services at once: %v wall, %d AWS API calls", n, firstWall.Round(time.Millisecond), total(firstCalls))
	t.Logf("%d linear deployments (10 steps of 50ms, 1 hook, 2 alarms, bake 300ms) of %d services at once: %v wall; AWS API calls:\n%s",
		n, n, wall.Round(time.Millisecond), formatCalls(calls, n))
	for i, s := range services {
		w.checkLive(t, s, results[i].Green, bluegreen.OutcomeSucceeded)
	}
	if got := calls["ecs:CreateTaskSet"]; got != n {
		t.Errorf("%d CreateTaskSet calls for %d deployments", got, n)
	}
}

func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}
