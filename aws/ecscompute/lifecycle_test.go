package ecscompute_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/google/go-cmp/cmp"
)

func TestStatusFollowsTasksAndTargetHealth(t *testing.T) {
	st := newStack(t, stackOptions{manualClock: true, startDelay: time.Minute, healthDelay: 30 * time.Second})
	ctx := context.Background()
	e := env(bluegreen.SlotB, "d1", "web:42")
	if err := st.compute.ScaleUp(ctx, e); err != nil {
		t.Fatal(err)
	}
	type status struct {
		Desired, Running, Healthy int
		Ready                     bool
		Reason                    string
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    status
	}{
		{"pending", 0, status{3, 0, 0, false, "0 of 3 tasks running (STABILIZING)"}},
		{"running, health checks in progress", time.Minute, status{3, 3, 0, false,
			"target 10.0.1.1 is initial (Elb.InitialHealthChecking: Initial health checks in progress)"}},
		{"healthy", 30 * time.Second, status{3, 3, 3, true, ""}},
	}
	for _, s := range steps {
		st.clock.Advance(s.advance)
		got, err := st.compute.Status(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s.want, status{got.Desired, got.Running, got.Healthy, got.Ready(), got.Reason}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
	st.elb.FailHealthChecks(st.service.TargetGroupB, "Health checks failed with these codes: [500]")
	got, err := st.compute.Status(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if got.Healthy != 0 || got.Ready() || !strings.Contains(got.Reason, "[500]") {
		t.Errorf("with failing health checks, Status = %+v; want none healthy and the reason", got)
	}
}

func TestFailingTasksReportFailed(t *testing.T) {
	st := newStack(t, stackOptions{})
	st.ecs.FailTaskDefinition("web-broken:1", "CannotPullContainerError: image not found")
	ctx := context.Background()
	e := env(bluegreen.SlotB, "d1", "web-broken:1")
	if err := st.compute.ScaleUp(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := st.compute.Status(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Failed || got.Ready() || !strings.Contains(got.Reason, "3 tasks failed: CannotPullContainerError: image not found") {
		t.Errorf("Status = %+v, want Failed with the stopped tasks' reason", got)
	}
}

func TestTaskSetDeletedByOthersReportsFailed(t *testing.T) {
	st := newStack(t, stackOptions{manualClock: true, drainDelay: time.Minute})
	ctx := context.Background()
	e := env(bluegreen.SlotB, "d1", "web:42")
	if err := st.compute.ScaleUp(ctx, e); err != nil {
		t.Fatal(err)
	}
	id := st.taskSets(t)[0].ID
	_, err := ecsClient(st).DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: aws.String(id), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.compute.Status(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	want := bluegreen.Status{Running: 3, Failed: true, Reason: "task set " + id + " deleted (DRAINING), 3 tasks still running"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Status while draining (-want +got):\n%s", diff)
	}
	st.clock.Advance(time.Minute)
	if got, err := st.compute.Status(ctx, e); err != nil || got != (bluegreen.Status{}) {
		t.Errorf("Status once drained = %+v, %v; want the zero Status", got, err)
	}
	// ScaleDown of a task set someone else deleted succeeds.
	if err := st.compute.ScaleDown(ctx, e); err != nil {
		t.Errorf("ScaleDown = %v", err)
	}
}

func TestPrimaryTaskSetMovesToGreenAtCleanUp(t *testing.T) {
	st := newStack(t, stackOptions{})
	ctx := context.Background()
	statuses := func() map[string]string {
		out := map[string]string{}
		for _, ts := range st.taskSets(t) {
			out[ts.ExternalID+"/"+ts.TaskDefinition] = ts.Status
		}
		return out
	}
	first := env(bluegreen.SlotA, "d1", "web:1")
	second := env(bluegreen.SlotB, "d2", "web:2")
	third := env(bluegreen.SlotA, "d3", "web:3")
	steps := []struct {
		name string
		do   func() error
		want map[string]string
	}{
		{"first deployment: green is primary at once", func() error { return st.compute.ScaleUp(ctx, first) },
			map[string]string{"d1/web:1": "PRIMARY"}},
		{"second deployment scales up: blue stays primary", func() error { return st.compute.ScaleUp(ctx, second) },
			map[string]string{"d1/web:1": "PRIMARY", "d2/web:2": "ACTIVE"}},
		// The fake drains at once (DrainDelay 0): a deleted task set is gone.
		{"clean up scales blue down: green becomes primary", func() error { return st.compute.ScaleDown(ctx, first) },
			map[string]string{"d2/web:2": "PRIMARY"}},
		{"third deployment scales up", func() error { return st.compute.ScaleUp(ctx, third) },
			map[string]string{"d2/web:2": "PRIMARY", "d3/web:3": "ACTIVE"}},
		{"rollback scales green down: blue stays primary", func() error { return st.compute.ScaleDown(ctx, third) },
			map[string]string{"d2/web:2": "PRIMARY"}},
		{"SetPrimary of the primary is idempotent", func() error { return st.compute.SetPrimary(ctx, second) },
			map[string]string{"d2/web:2": "PRIMARY"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, statuses()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
	if err := st.compute.SetPrimary(ctx, third); !errors.Is(err, bluegreen.ErrNotFound) {
		t.Errorf("SetPrimary of a deleted task set = %v, want ErrNotFound", err)
	}
}

func TestCallsForOneCycle(t *testing.T) {
	st := newStack(t, stackOptions{})
	ctx := context.Background()
	blue := env(bluegreen.SlotA, "d1", "web:1")
	if err := st.compute.ScaleUp(ctx, blue); err != nil {
		t.Fatal(err)
	}
	before := st.calls()
	green := env(bluegreen.SlotB, "d2", "web:2")
	if err := st.compute.ScaleUp(ctx, green); err != nil {
		t.Fatal(err)
	}
	if s, err := st.compute.Status(ctx, green); err != nil || !s.Ready() {
		t.Fatalf("Status = %+v, %v; want ready", s, err)
	}
	if err := st.compute.ScaleDown(ctx, blue); err != nil {
		t.Fatal(err)
	}
	got := st.calls()
	for op, n := range before {
		got[op] -= n
		if got[op] == 0 {
			delete(got, op)
		}
	}
	want := map[string]int{
		"DescribeServices": 1, "CreateTaskSet": 1, // ScaleUp
		"DescribeTaskSets": 2, "DescribeTargetHealth": 1, // Status, and ScaleDown's read
		"UpdateServicePrimaryTaskSet": 1, "UpdateTaskSet": 1, "DeleteTaskSet": 1, // ScaleDown of blue
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls for ScaleUp, Status, ScaleDown (-want +got):\n%s", diff)
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name  string
		fault awsfake.Fault
		want  bluegreen.Code
	}{
		{"throttled for good", awsfake.Throttling(), bluegreen.CodeThrottled},
		{"too many requests", awsfake.Fault{Status: 429, Code: "TooManyRequestsException", Message: "slow down"}, bluegreen.CodeThrottled},
		{"server exception", awsfake.Fault{Status: 500, Code: "ServerException", Message: "oops"}, bluegreen.CodeTransient},
		{"bare 503", awsfake.Fault{Status: 503, Code: "Unavailable", Message: "down"}, bluegreen.CodeTransient},
		{"access denied", awsfake.Fault{Status: 400, Code: "AccessDeniedException", Message: "no"}, bluegreen.CodePermission},
		{"service not found", awsfake.Fault{Status: 400, Code: "ServiceNotFoundException", Message: "gone"}, bluegreen.CodeNotFound},
		{"cluster not found", awsfake.Fault{Status: 400, Code: "ClusterNotFoundException", Message: "gone"}, bluegreen.CodeNotFound},
		{"invalid parameter", awsfake.Fault{Status: 400, Code: "InvalidParameterException", Message: "bad"}, bluegreen.CodeInvalid},
		{"client exception", awsfake.Fault{Status: 400, Code: "ClientException", Message: "bad"}, bluegreen.CodeInvalid},
		{"quota, not a rate", awsfake.Fault{Status: 400, Code: "LimitExceededException", Message: "too many task sets"}, bluegreen.CodeFailedPrecondition},
		{"auto scaling target busy", awsfake.Fault{Status: 400, Code: "ConcurrentUpdateException", Message: "busy"}, bluegreen.CodeTransient},
		{"service not active", awsfake.Fault{Status: 400, Code: "ServiceNotActiveException", Message: "draining"}, bluegreen.CodeFailedPrecondition},
		{"unknown", awsfake.Fault{Status: 400, Code: "Mystery", Message: "?"}, bluegreen.CodeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			st.ecs.Faults.Add(awsfake.Rule{Op: "DescribeTaskSets", Fault: tt.fault})
			_, err := st.compute.Status(context.Background(), env(bluegreen.SlotA, "d1", "web:1"))
			if err == nil {
				t.Fatal("Status succeeded, want an error")
			}
			if got := st.compute.ErrorCode(err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}

func TestSDKRetriesTransientFaults(t *testing.T) {
	st := newStack(t, stackOptions{})
	st.ecs.Faults.Add(awsfake.Rule{Op: "DescribeServices", Fault: awsfake.Throttling(), Times: 1})
	st.ecs.Faults.Add(awsfake.Rule{Op: "CreateTaskSet", Fault: awsfake.InternalError(), Times: 1})
	st.ecs.Faults.Add(awsfake.Rule{Op: "DescribeTaskSets", Fault: awsfake.Fault{Status: 503, Code: "ServiceUnavailable", Message: "later"}, Times: 1})
	ctx := context.Background()
	e := env(bluegreen.SlotB, "d1", "web:42")
	if err := st.compute.ScaleUp(ctx, e); err != nil {
		t.Fatal(err)
	}
	if s, err := st.compute.Status(ctx, e); err != nil || !s.Ready() {
		t.Fatalf("Status = %+v, %v; want ready", s, err)
	}
	if n := len(st.taskSets(t)); n != 1 {
		t.Errorf("%d task sets, want 1", n)
	}
	if got := st.ecs.Faults.Injected(); got != 3 {
		t.Errorf("faults injected = %d, want 3", got)
	}
}
