package ecscompute_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/google/go-cmp/cmp"
)

// legacy is a task set another tool created on the service, before the
// library was ever used on it.
type legacy struct {
	externalID  string
	taskDef     string   // family:revision
	targetGroup string   // "A", "B", "stranger", "both", or "none" for no load balancer
	scale       *float64 // 100% if nil
	primary     bool     // made primary by its task-set id, as the other tool would
	deleted     bool     // deleted (force) after creation: DRAINING
}

// taskDefARN is the ARN ECS gives task definition family:revision.
func taskDefARN(name string) string {
	return "arn:aws:ecs:us-east-1:123456789012:task-definition/" + name
}

// network is the network configuration legacy task sets run with.
func network() *ecstypes.NetworkConfiguration {
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: []string{"subnet-9"}, SecurityGroups: []string{"sg-9"}, AssignPublicIp: ecstypes.AssignPublicIpEnabled}}
}

// legacySpec is the Spec Discover should rebuild for a legacy task set.
func legacySpec(t *testing.T, taskDef string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(ecscompute.Spec{TaskDefinition: taskDefARN(taskDef), LaunchType: "FARGATE", NetworkConfiguration: &ecscompute.NetworkConfiguration{
		AwsvpcConfiguration: &ecscompute.AwsvpcConfiguration{Subnets: []string{"subnet-9"}, SecurityGroups: []string{"sg-9"}, AssignPublicIP: "ENABLED"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// createLegacy creates l through the ECS API, with the SDK client, as
// another deployment tool would, and returns the task set as ECS reports it.
func (st *stack) createLegacy(t *testing.T, l legacy) ecstypes.TaskSet {
	t.Helper()
	ctx := context.Background()
	client := ecsClient(st)
	stranger := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/legacy/0123456789abcdef"
	lb := func(tg string) ecstypes.LoadBalancer {
		return ecstypes.LoadBalancer{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}
	}
	in := &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(taskDefARN(l.taskDef)),
		LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: network()}
	if l.externalID != "" {
		in.ExternalId = aws.String(l.externalID)
	}
	switch l.targetGroup {
	case "A":
		in.LoadBalancers = []ecstypes.LoadBalancer{lb(st.service.TargetGroupA)}
	case "B":
		in.LoadBalancers = []ecstypes.LoadBalancer{lb(st.service.TargetGroupB)}
	case "stranger":
		in.LoadBalancers = []ecstypes.LoadBalancer{lb(stranger)}
	case "both":
		in.LoadBalancers = []ecstypes.LoadBalancer{lb(st.service.TargetGroupA), lb(st.service.TargetGroupB)}
	case "none":
	default:
		t.Fatalf("legacy target group %q", l.targetGroup)
	}
	if l.scale != nil {
		in.Scale = &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: *l.scale}
	}
	out, err := client.CreateTaskSet(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ts := out.TaskSet
	ref := func() *ecs.UpdateServicePrimaryTaskSetInput {
		return &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), PrimaryTaskSet: ts.Id}
	}
	if l.primary {
		if _, err := client.UpdateServicePrimaryTaskSet(ctx, ref()); err != nil {
			t.Fatal(err)
		}
	}
	if l.deleted {
		if _, err := client.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: ts.Id,
			Force: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	return *ts
}

func TestDiscoverReportsWhatRuns(t *testing.T) {
	zero := 0.0
	ready := bluegreen.Status{Desired: 3, Running: 3, Healthy: 3}
	tests := []struct {
		name   string
		legacy []legacy
		// want builds the expected result from the task sets created.
		want func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found
	}{
		{"nothing runs", nil, func(*testing.T, []ecstypes.TaskSet) []bluegreen.Found { return []bluegreen.Found{} }},
		{"primary in A without an external id: keyed by its task-set id",
			[]legacy{{taskDef: "web:7", targetGroup: "A", primary: true}},
			func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found {
				return []bluegreen.Found{{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: *ts[0].Id,
					Revision: bluegreen.Revision{Name: "web:7", Spec: legacySpec(t, "web:7")}}, Status: ready, Primary: true}}
			}},
		{"primary in B with an external id, active in A: keyed by external id, ordered by slot",
			[]legacy{{externalID: "deploy-41", taskDef: "web:7", targetGroup: "B", primary: true}, {externalID: "deploy-42", taskDef: "web:8", targetGroup: "A"}},
			func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found {
				return []bluegreen.Found{
					{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "deploy-42",
						Revision: bluegreen.Revision{Name: "web:8", Spec: legacySpec(t, "web:8")}}, Status: ready},
					{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "deploy-41",
						Revision: bluegreen.Revision{Name: "web:7", Spec: legacySpec(t, "web:7")}}, Status: ready, Primary: true},
				}
			}},
		{"two in A sharing an external id: each keyed by its task-set id",
			[]legacy{{externalID: "prod", taskDef: "web:7", targetGroup: "A", primary: true}, {externalID: "prod", taskDef: "web:8", targetGroup: "A"}},
			func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found {
				return []bluegreen.Found{
					{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: *ts[0].Id,
						Revision: bluegreen.Revision{Name: "web:7", Spec: legacySpec(t, "web:7")}}, Status: ready, Primary: true},
					{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: *ts[1].Id,
						Revision: bluegreen.Revision{Name: "web:8", Spec: legacySpec(t, "web:8")}}, Status: ready},
				}
			}},
		{"scaled to 0% but not removed: reported, failed, with the fix",
			[]legacy{{externalID: "old", taskDef: "web:6", targetGroup: "B", scale: &zero}},
			func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found {
				return []bluegreen.Found{{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "old",
					Revision: bluegreen.Revision{Name: "web:6", Spec: legacySpec(t, "web:6")}},
					Status: bluegreen.Status{Failed: true, Reason: "task set " + *ts[0].Id + " is scaled to 0% and runs no tasks, so it can never become healthy: " +
						"it was being scaled down or removed (a rollback, a clean-up, or by hand); " +
						"scale it back up (aws ecs update-task-set --scale unit=PERCENT,value=100) or deploy a new revision"}}}
			}},
		{"draining with tasks still running: reported, failed",
			[]legacy{{taskDef: "web:7", targetGroup: "A", primary: true}, {externalID: "gone", taskDef: "web:5", targetGroup: "B", deleted: true}},
			func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found {
				return []bluegreen.Found{
					{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: *ts[0].Id,
						Revision: bluegreen.Revision{Name: "web:7", Spec: legacySpec(t, "web:7")}}, Status: ready, Primary: true},
					{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "gone",
						Revision: bluegreen.Revision{Name: "web:5", Spec: legacySpec(t, "web:5")}},
						Status: bluegreen.Status{Running: 3, Failed: true, Reason: "task set " + *ts[1].Id + " deleted (DRAINING), 3 tasks still running"}},
				}
			}},
		{"draining in a target group of neither slot: ignored",
			[]legacy{{taskDef: "web:7", targetGroup: "A", primary: true}, {taskDef: "web:1", targetGroup: "stranger", deleted: true}},
			func(t *testing.T, ts []ecstypes.TaskSet) []bluegreen.Found {
				return []bluegreen.Found{{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: *ts[0].Id,
					Revision: bluegreen.Revision{Name: "web:7", Spec: legacySpec(t, "web:7")}}, Status: ready, Primary: true}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{manualClock: true, drainDelay: time.Minute})
			var created []ecstypes.TaskSet
			for _, l := range tt.legacy {
				created = append(created, st.createLegacy(t, l))
			}
			ctx := context.Background()
			got, err := st.compute.Discover(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(t, created), got); diff != "" {
				t.Fatalf("Discover (-want +got):\n%s", diff)
			}
			// Each environment found is found again by Status, by the key
			// Discover gave it, though the library did not create it.
			for _, f := range got {
				if _, err := ecscompute.ParseSpec(f.Environment.Revision); err != nil {
					t.Errorf("%v: rebuilt Spec does not parse: %v", f.Environment, err)
				}
				st2, err := st.compute.Status(ctx, f.Environment)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(f.Status, st2); diff != "" {
					t.Errorf("Status(%v, %s) differs from what Discover reported (-discover +status):\n%s", f.Environment, f.Environment.DeploymentID, diff)
				}
			}
		})
	}
}

func TestDiscoverRefusesTaskSetsInNoSlot(t *testing.T) {
	tests := []struct {
		name, targetGroup string
		wantBoth          bool
		wantInMessage     []string
	}{
		{"a target group of neither slot", "stranger", false, []string{"targetgroup/legacy/0123456789abcdef", "neither TargetGroupA nor TargetGroupB"}},
		{"no load balancer", "none", false, []string{"registers in no load balancer target group"}},
		{"both slots' target groups", "both", true, []string{"both slots' target groups at once"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			st.createLegacy(t, legacy{taskDef: "web:7", targetGroup: "A", primary: true})
			odd := st.createLegacy(t, legacy{externalID: "sidecar", taskDef: "web-canary:3", targetGroup: tt.targetGroup})
			got, err := st.compute.Discover(context.Background(), "web")
			var se *ecscompute.TaskSetSlotError
			if !errors.As(err, &se) || got != nil {
				t.Fatalf("Discover = %v, %v; want nothing and a TaskSetSlotError", got, err)
			}
			if se.TaskSet != *odd.TaskSetArn || se.Both != tt.wantBoth || se.Status != "ACTIVE" {
				t.Errorf("error names task set %s (%s, both %v); want %s (ACTIVE, both %v)", se.TaskSet, se.Status, se.Both, *odd.TaskSetArn, tt.wantBoth)
			}
			if !errors.Is(err, bluegreen.ErrFailedPrecondition) || st.compute.ErrorCode(se) != bluegreen.CodeFailedPrecondition {
				t.Errorf("error %v is not a failed precondition", err)
			}
			for _, s := range append(tt.wantInMessage, *odd.TaskSetArn, "web-canary:3", `ecscompute.Options.Services["web"]`) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestDiscoverRefusesBadServices(t *testing.T) {
	st := newStack(t, stackOptions{controller: "ECS"})
	ctx := context.Background()
	var ne *ecscompute.NotExternalError
	if _, err := st.compute.Discover(ctx, "web"); !errors.As(err, &ne) {
		t.Errorf("Discover of a service with the ECS controller = %v, want a NotExternalError", err)
	}
	var ce *bluegreen.ConfigError
	if _, err := st.compute.Discover(ctx, "api"); !errors.As(err, &ce) || ce.Field != "service" {
		t.Errorf("Discover of an unconfigured service = %v, want a ConfigError for service", err)
	}
}

// primaryRecorder records the task set every UpdateServicePrimaryTaskSet
// call names, then makes the call.
type primaryRecorder struct {
	ecscompute.ECSAPI
	mu   sync.Mutex
	refs []string
}

func (r *primaryRecorder) UpdateServicePrimaryTaskSet(ctx context.Context, in *ecs.UpdateServicePrimaryTaskSetInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServicePrimaryTaskSetOutput, error) {
	r.mu.Lock()
	r.refs = append(r.refs, aws.ToString(in.PrimaryTaskSet))
	r.mu.Unlock()
	return r.ECSAPI.UpdateServicePrimaryTaskSet(ctx, in, optFns...)
}

func (r *primaryRecorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refs...)
}

// TestSetPrimaryOnAdoptedService adopts a task set another tool made
// primary, starts green beside it, and moves primary between them, in each
// crash window the Deployer can leave: SetPrimary called twice (crash after
// the call, before the state was saved), on a task set that is primary
// already, and with the response lost after the call took effect.
func TestSetPrimaryOnAdoptedService(t *testing.T) {
	type env = bluegreen.Environment
	tests := []struct {
		name     string
		lose     int // responses of UpdateServicePrimaryTaskSet to lose
		do       func(ctx context.Context, c *ecscompute.Compute, blue, green env) error
		want     map[string]string // status by "blue"/"green"
		wantRefs []string          // the task sets named in UpdateServicePrimaryTaskSet calls
		wantHTTP int               // UpdateServicePrimaryTaskSet requests the fake served
	}{
		{"green once", 0, func(ctx context.Context, c *ecscompute.Compute, blue, green env) error {
			return c.SetPrimary(ctx, green)
		}, map[string]string{"blue": "ACTIVE", "green": "PRIMARY"}, []string{"green"}, 1},
		{"green twice: the second call finds it primary and calls nothing", 0, func(ctx context.Context, c *ecscompute.Compute, blue, green env) error {
			return errors.Join(c.SetPrimary(ctx, green), c.SetPrimary(ctx, green))
		}, map[string]string{"blue": "ACTIVE", "green": "PRIMARY"}, []string{"green"}, 1},
		{"blue, primary already: no call", 0, func(ctx context.Context, c *ecscompute.Compute, blue, green env) error {
			return c.SetPrimary(ctx, blue)
		}, map[string]string{"blue": "PRIMARY", "green": "ACTIVE"}, nil, 0},
		{"response lost after the call took effect: the SDK's retry succeeds", 1, func(ctx context.Context, c *ecscompute.Compute, blue, green env) error {
			return c.SetPrimary(ctx, green)
		}, map[string]string{"blue": "ACTIVE", "green": "PRIMARY"}, []string{"green"}, 2},
		{"rollback after green was made primary: back to the adopted blue", 0, func(ctx context.Context, c *ecscompute.Compute, blue, green env) error {
			return errors.Join(c.SetPrimary(ctx, green), c.SetPrimary(ctx, blue))
		}, map[string]string{"blue": "PRIMARY", "green": "ACTIVE"}, []string{"green", "blue"}, 2},
		{"clean up: green primary, then the adopted blue removed", 0, func(ctx context.Context, c *ecscompute.Compute, blue, green env) error {
			return errors.Join(c.SetPrimary(ctx, green), c.ScaleDown(ctx, blue))
		}, map[string]string{"green": "PRIMARY"}, []string{"green"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &primaryRecorder{}
			st := newStack(t, stackOptions{wrapECS: func(c ecscompute.ECSAPI) ecscompute.ECSAPI { rec.ECSAPI = c; return rec }})
			legacyTS := st.createLegacy(t, legacy{taskDef: "web:7", targetGroup: "A", primary: true})
			ctx := context.Background()
			found, err := st.compute.Discover(ctx, "web")
			if err != nil || len(found) != 1 || !found[0].Primary {
				t.Fatalf("Discover = %+v, %v; want the legacy task set, primary", found, err)
			}
			blue := found[0].Environment
			green := env{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "d2", Revision: revision("web:8")}
			if err := st.compute.ScaleUp(ctx, green); err != nil {
				t.Fatal(err)
			}
			before := st.calls()["UpdateServicePrimaryTaskSet"]
			st.ecs.LoseResponses("UpdateServicePrimaryTaskSet", tt.lose)
			if err := tt.do(ctx, st.compute, blue, green); err != nil {
				t.Fatal(err)
			}
			arns := map[string]string{*legacyTS.TaskSetArn: "blue"}
			got := map[string]string{}
			for _, ts := range st.taskSets(t) {
				if ts.ExternalID == "d2" {
					arns[ts.ARN] = "green"
				}
				name := arns[ts.ARN]
				if name == "" {
					t.Fatalf("unexpected task set %+v", ts)
				}
				got[name] = ts.Status
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("task set statuses (-want +got):\n%s", diff)
			}
			var refs []string
			for _, ref := range rec.calls() {
				name, ok := arns[ref]
				if !ok {
					t.Errorf("UpdateServicePrimaryTaskSet named %q, not a task set ARN", ref)
				}
				refs = append(refs, name)
			}
			if diff := cmp.Diff(tt.wantRefs, refs); diff != "" {
				t.Errorf("UpdateServicePrimaryTaskSet calls by the adapter (-want +got):\n%s", diff)
			}
			if got := st.calls()["UpdateServicePrimaryTaskSet"] - before; got != tt.wantHTTP {
				t.Errorf("UpdateServicePrimaryTaskSet requests served = %d, want %d", got, tt.wantHTTP)
			}
		})
	}
}

func TestSetPrimaryWithoutARunningTaskSet(t *testing.T) {
	st := newStack(t, stackOptions{})
	ctx := context.Background()
	green := env(bluegreen.SlotB, "d2", "web:8")
	if err := st.compute.SetPrimary(ctx, green); !errors.Is(err, bluegreen.ErrNotFound) {
		t.Errorf("SetPrimary before ScaleUp = %v, want ErrNotFound", err)
	}
	if err := st.compute.SetPrimary(ctx, bluegreen.Environment{Service: "web", Slot: "C", DeploymentID: "d2"}); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("SetPrimary of slot C = %v, want ErrInvalid", err)
	}
	if n := st.calls()["UpdateServicePrimaryTaskSet"]; n != 0 {
		t.Errorf("%d UpdateServicePrimaryTaskSet calls, want none", n)
	}
}

// TestZeroDesiredFailsAtOnce checks that a task set computed at zero tasks
// reports Failed with the cause and the fix at the first Status, instead of
// leaving the Deployer to wait out its health timeout, and that ScaleUp on a
// service whose desired count is 0 creates nothing.
func TestZeroDesiredFailsAtOnce(t *testing.T) {
	zeroDesired := "ECS service web in cluster prod has a desired count of 0, and its task sets are sized from it (desired count × scale); " +
		"set the service's desired count above 0 (aws ecs update-service --cluster prod --service web --desired-count N), " +
		"and if Application Auto Scaling manages it, a minimum capacity above 0"
	tests := []struct {
		name string
		// after runs after green's ScaleUp.
		after func(t *testing.T, st *stack, id string)
		want  func(id string) bluegreen.Status
	}{
		{"service desired count set to 0", func(t *testing.T, st *stack, id string) {
			if err := st.ecs.SetDesiredCount("prod", "web", 0); err != nil {
				t.Fatal(err)
			}
		}, func(id string) bluegreen.Status {
			return bluegreen.Status{Failed: true, Reason: "task set " + id + " runs no tasks, so it can never become healthy: " + zeroDesired}
		}},
		{"task set scaled to 0%", func(t *testing.T, st *stack, id string) {
			_, err := ecsClient(st).UpdateTaskSet(context.Background(), &ecs.UpdateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				TaskSet: aws.String(id), Scale: &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 0}})
			if err != nil {
				t.Fatal(err)
			}
		}, func(id string) bluegreen.Status {
			return bluegreen.Status{Failed: true, Reason: "task set " + id + " is scaled to 0% and runs no tasks, so it can never become healthy: " +
				"it was being scaled down or removed (a rollback, a clean-up, or by hand); " +
				"scale it back up (aws ecs update-task-set --scale unit=PERCENT,value=100) or deploy a new revision"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{manualClock: true})
			ctx := context.Background()
			green := env(bluegreen.SlotB, "d1", "web:42")
			if err := st.compute.ScaleUp(ctx, green); err != nil {
				t.Fatal(err)
			}
			id := st.taskSets(t)[0].ID
			tt.after(t, st, id)
			got, err := st.compute.Status(ctx, green)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(id), got); diff != "" {
				t.Errorf("Status (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("ScaleUp on a service at desired count 0", func(t *testing.T) {
		st := newStack(t, stackOptions{})
		if err := st.ecs.SetDesiredCount("prod", "web", 0); err != nil {
			t.Fatal(err)
		}
		err := st.compute.ScaleUp(context.Background(), env(bluegreen.SlotB, "d1", "web:42"))
		var ze *ecscompute.ZeroDesiredError
		if !errors.As(err, &ze) || !errors.Is(err, bluegreen.ErrFailedPrecondition) || st.compute.ErrorCode(ze) != bluegreen.CodeFailedPrecondition {
			t.Fatalf("ScaleUp = %v, want a ZeroDesiredError with CodeFailedPrecondition", err)
		}
		if want := "ecscompute: " + zeroDesired; ze.Error() != want {
			t.Errorf("error = %q, want %q", ze, want)
		}
		if n := len(st.taskSets(t)); n != 0 {
			t.Errorf("%d task sets created, want none", n)
		}
	})
}

// TestScaleUpRefusesAnOccupiedSlot checks that green is not started in a
// target group where another deployment's task set still has tasks: they
// would take green's traffic beside green's own. A task set there that runs
// nothing (scaled to 0%, or draining) does not stand in the way.
func TestScaleUpRefusesAnOccupiedSlot(t *testing.T) {
	zero := 0.0
	tests := []struct {
		name     string
		occupant legacy
		refused  bool
	}{
		{"another tool's task set with tasks", legacy{taskDef: "web:7", targetGroup: "B"}, true},
		{"a task set of an earlier deployment, primary", legacy{externalID: "d0", taskDef: "web:6", targetGroup: "B", primary: true}, true},
		{"a task set scaled to 0%", legacy{externalID: "d0", taskDef: "web:6", targetGroup: "B", scale: &zero}, false},
		{"a task set draining", legacy{externalID: "d0", taskDef: "web:6", targetGroup: "B", deleted: true}, false},
		{"a task set in the other slot", legacy{taskDef: "web:7", targetGroup: "A", primary: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{manualClock: true, drainDelay: time.Minute})
			occupant := st.createLegacy(t, tt.occupant)
			before := len(st.taskSets(t))
			err := st.compute.ScaleUp(context.Background(), env(bluegreen.SlotB, "d1", "web:8"))
			created := len(st.taskSets(t)) - before
			if !tt.refused {
				if err != nil || created != 1 {
					t.Fatalf("ScaleUp = %v, %d task sets created; want green created", err, created)
				}
				return
			}
			var ue *ecscompute.SlotInUseError
			if !errors.As(err, &ue) || !errors.Is(err, bluegreen.ErrFailedPrecondition) || st.compute.ErrorCode(ue) != bluegreen.CodeFailedPrecondition {
				t.Fatalf("ScaleUp = %v; want a SlotInUseError with CodeFailedPrecondition", err)
			}
			want := ecscompute.SlotInUseError{Cluster: "prod", Service: "web", Slot: bluegreen.SlotB, TargetGroup: st.service.TargetGroupB,
				TaskSet: *occupant.TaskSetArn, Status: map[bool]string{false: "ACTIVE", true: "PRIMARY"}[tt.occupant.primary],
				TaskDefinition: taskDefARN(tt.occupant.taskDef), Running: 3}
			if diff := cmp.Diff(want, *ue); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if created != 0 {
				t.Errorf("%d task sets created, want none", created)
			}
		})
	}
}
