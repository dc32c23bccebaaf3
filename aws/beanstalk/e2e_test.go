package beanstalk_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
	"github.com/google/go-cmp/cmp"
)

// Realistic timings, in virtual time: environments launch in 4 minutes,
// update or swap in 1, terminate in 2; Route 53 changes are INSYNC after
// 30s and the records' TTL is 60s.
var timings = awsfake.ElasticBeanstalkOptions{LaunchDelay: 4 * time.Minute, UpdateDelay: time.Minute, TerminateDelay: 2 * time.Minute}

// failingHook answers FAILED for revision rev at stage (and step, if not
// 0), SUCCEEDED otherwise.
func failingHook(rev string, stage bluegreen.Stage, step int) bluegreen.Hook {
	return bluegreen.HookFunc(func(_ context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		if in.Green.Revision.Name == rev && in.Stage == stage && (step == 0 || in.Step == step) && !in.Rollback {
			return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "smoke test: checkout returns 500"}, nil
		}
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})
}

func deployer(t *testing.T, compute bluegreen.Compute, router bluegreen.Router, shift bluegreen.Shift, hook bluegreen.Hook, stages ...bluegreen.Stage) *bluegreen.Deployer {
	t.Helper()
	d, err := bluegreen.New(bluegreen.Config{
		Compute: compute, Router: router, Store: bluegreen.NewMemoryStore(),
		Shift: shift, BakeTime: 10 * time.Minute,
		Hooks:          []bluegreen.LifecycleHook{{Name: "smoke", Hook: hook, Stages: stages}},
		HealthInterval: 15 * time.Second, HealthTimeout: 20 * time.Minute,
		VerifyInterval: 5 * time.Second, VerifyTimeout: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// since returns the calls counted after before.
func since(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range after {
		if d := n - before[op]; d > 0 {
			out[op] = d
		}
	}
	return out
}

func format(calls map[string]int) string {
	var b strings.Builder
	total := 0
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		fmt.Fprintf(&b, "  %-45s %4d\n", op, calls[op])
		total += calls[op]
	}
	fmt.Fprintf(&b, "  %-45s %4d", "total", total)
	return b.String()
}

// pick returns the counts of the operations in ops.
func pick(calls map[string]int, ops ...string) map[string]int {
	out := map[string]int{}
	for _, op := range ops {
		if calls[op] > 0 {
			out[op] = calls[op]
		}
	}
	return out
}

// TestDeploySwap deploys three versions with the CNAME swap router, all at
// once: v1 (the first: it creates slot A with the production CNAME), v2
// (slot B, swapped in, A terminated) and v3, whose hook fails after the
// swap: the rollback swaps back, so production returns to v2, and v3's
// environment is terminated.
func TestDeploySwap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(timings)
		c := w.compute(t, beanstalk.Options{})
		r := w.swapRouter(t)
		shift := bluegreen.AllAtOnce()
		if err := beanstalk.CheckShift(shift); err != nil {
			t.Fatal(err)
		}
		d := deployer(t, c, r, shift, failingHook("web@v3", bluegreen.StagePostProductionTrafficShift, 0), bluegreen.StagePostProductionTrafficShift)

		if res, err := d.Deploy(ctx, "web", revision("v1")); err != nil || res.Green.Slot != bluegreen.SlotA {
			t.Fatalf("v1: %+v, %v", res, err)
		}
		before := w.fake.Faults.Calls()
		start := time.Now()
		res, err := d.Deploy(ctx, "web", revision("v2"))
		if err != nil || res.Green.Slot != bluegreen.SlotB {
			t.Fatalf("v2: %+v, %v", res, err)
		}
		v2 := since(before, w.fake.Faults.Calls())
		t.Logf("Elastic Beanstalk calls of one all-at-once deployment with a CNAME swap (v2, %v of virtual time):\n%s", time.Since(start), format(v2))
		want := map[string]int{"DescribeApplicationVersions": 1, "CreateApplicationVersion": 1, "CreateEnvironment": 1,
			"SwapEnvironmentCNAMEs": 1, "TerminateEnvironment": 1}
		if diff := cmp.Diff(want, pick(v2, slices.Collect(maps.Keys(want))...)); diff != "" {
			t.Errorf("calls that do not depend on timing (-want +got):\n%s", diff)
		}
		if e, _ := w.fake.Environment(app, "shop-web-b"); e.CNAME != beanstalk.CNAME("shop-web", "us-east-1") {
			t.Errorf("after v2, slot B's CNAME = %s, want the production CNAME", e.CNAME)
		}

		time.Sleep(3 * time.Minute) // slot A's old environment finishes terminating
		before = w.fake.Faults.Calls()
		res, err = d.Deploy(ctx, "web", revision("v3"))
		var rb *bluegreen.RollbackError
		if !errors.As(err, &rb) || res.Outcome != bluegreen.OutcomeRolledBack || res.Live == nil || res.Live.Revision.Name != "web@v2" {
			t.Fatalf("v3 = %+v, %v; want ROLLED_BACK to web@v2", res, err)
		}
		v3 := since(before, w.fake.Faults.Calls())
		t.Logf("Elastic Beanstalk calls of the rolled-back deployment (v3):\n%s", format(v3))
		if v3["SwapEnvironmentCNAMEs"] != 2 {
			t.Errorf("SwapEnvironmentCNAMEs calls = %d, want 2 (to green, back to blue)", v3["SwapEnvironmentCNAMEs"])
		}
		if got, err := r.Routes(ctx, "web"); err != nil || got != (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}) {
			t.Errorf("routes after the rollback = %v, %v; want all on slot B", got, err)
		}
		b, _ := w.fake.Environment(app, "shop-web-b")
		a, _ := w.fake.Environment(app, "shop-web-a")
		if b.CNAME != beanstalk.CNAME("shop-web", "us-east-1") || b.VersionLabel != "v2" || a.Status != "Terminating" {
			t.Errorf("after the rollback: B %s %s, A %s; want B on the production CNAME with v2, A terminating", b.CNAME, b.VersionLabel, a.Status)
		}
	})
}

// TestSwapRefusesSplits: CheckShift and SetRoutes refuse a shift a swap
// cannot make, naming the fix, before any call.
func TestSwapRefusesSplits(t *testing.T) {
	for _, s := range []bluegreen.Shift{bluegreen.Linear(25, time.Minute), bluegreen.Canary(10, time.Minute)} {
		err := beanstalk.CheckShift(s)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != "Config.Shift" || !strings.Contains(ce.Fix, "AllAtOnce") {
			t.Errorf("CheckShift(%v) = %v, want a ConfigError for Config.Shift naming AllAtOnce", s, err)
		}
	}
	for _, s := range []bluegreen.Shift{bluegreen.AllAtOnce(), bluegreen.Steps(bluegreen.Step{Green: bluegreen.Full})} {
		if err := beanstalk.CheckShift(s); err != nil {
			t.Errorf("CheckShift(%v) = %v", s, err)
		}
	}
	w := newWorld(awsfake.ElasticBeanstalkOptions{})
	r := w.swapRouter(t)
	err := r.SetRoutes(t.Context(), "web", bluegreen.Routes{Production: bluegreen.Weights{A: 750, B: 250}})
	if !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("SetRoutes(75/25) = %v, want ErrInvalid", err)
	}
	if n := len(w.fake.Faults.Calls()); n != 0 {
		t.Errorf("%d operations called, want none", n)
	}
}

// TestDeployRoute53 deploys with weighted Route 53 records over the two
// environments' CNAMEs, linearly in 4 steps of 25%: v1, v2 (all steps),
// and v3 whose hook fails at the second production step (50%): the
// rollback puts all weight back on v2's slot with one change batch.
func TestDeployRoute53(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(timings)
		dns := awsfake.NewRoute53(awsfake.Route53Options{PropagationDelay: 30 * time.Second})
		zone := dns.CreateHostedZone("shop.example.com")
		svc := service()
		svc.ProductionCNAMEPrefix = "" // no swaps: each environment keeps its slot's CNAME
		records, err := beanstalk.Route53Service(svc, "us-east-1", zone, "www.shop.example.com", "test.shop.example.com")
		if err != nil {
			t.Fatal(err)
		}
		router, err := route53router.New(route53router.Options{Client: route53.NewFromConfig(awsfake.InProcessConfig(dns)),
			Services: map[string]route53router.Service{"web": records}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		c := w.compute(t, beanstalk.Options{Services: map[string]beanstalk.Service{"web": svc}})
		d := deployer(t, c, router, bluegreen.Linear(25, 2*time.Minute), failingHook("web@v3", bluegreen.StageProductionTrafficShift, 2),
			bluegreen.StageProductionTrafficShift)

		if _, err := d.Deploy(ctx, "web", revision("v1")); err != nil {
			t.Fatalf("v1: %v", err)
		}
		ebBefore, dnsBefore := w.fake.Faults.Calls(), dns.Faults.Calls()
		start := time.Now()
		res, err := d.Deploy(ctx, "web", revision("v2"))
		if err != nil || res.Green.Slot != bluegreen.SlotB {
			t.Fatalf("v2: %+v, %v", res, err)
		}
		ebCalls, dnsCalls := since(ebBefore, w.fake.Faults.Calls()), since(dnsBefore, dns.Faults.Calls())
		t.Logf("calls of one linear deployment in 4 steps over Route 53 (v2, %v of virtual time):\nElastic Beanstalk:\n%s\nRoute 53:\n%s",
			time.Since(start), format(ebCalls), format(dnsCalls))
		// One change batch per route change: the test route, then 4 steps.
		if n := dnsCalls["ChangeResourceRecordSets"]; n != 5 {
			t.Errorf("ChangeResourceRecordSets calls = %d, want 5", n)
		}
		rec, _ := dns.Record(zone, "www.shop.example.com", "CNAME", "www.shop.example.com-A")
		if *rec.Weight != 0 {
			t.Errorf("after v2 slot A's weight = %d, want 0", *rec.Weight)
		}

		time.Sleep(3 * time.Minute)
		res, err = d.Deploy(ctx, "web", revision("v3"))
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Live == nil || res.Live.Revision.Name != "web@v2" {
			t.Fatalf("v3 = %+v, %v; want ROLLED_BACK to web@v2", res, err)
		}
		got, err := router.Routes(ctx, "web")
		if err != nil || got != (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}) {
			t.Errorf("routes after the rollback = %v, %v; want all on slot B, test on B", got, err)
		}
		var weights []string
		for _, r := range dns.Records(zone) {
			if r.Weight != nil {
				weights = append(weights, fmt.Sprintf("%s=%d", r.SetIdentifier, *r.Weight))
			}
		}
		if diff := cmp.Diff([]string{"www.shop.example.com-A=0", "www.shop.example.com-B=255"}, weights); diff != "" {
			t.Errorf("record weights after the rollback (-want +got):\n%s", diff)
		}
		if a, _ := w.fake.Environment(app, "shop-web-a"); a.Status != "Terminating" || a.VersionLabel != "v3" {
			t.Errorf("v3's environment is %s with %s, want terminating", a.Status, a.VersionLabel)
		}
	})
}
