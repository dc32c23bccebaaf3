package awsfake

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// manualClock is a clock a test steps by hand. The fakes read it from their
// handler goroutines, hence the lock.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestECS(t *testing.T, opts ECSOptions) (*ECS, *ecs.Client) {
	t.Helper()
	fake := NewECS(t, opts)
	return fake, ecs.NewFromConfig(Config(fake.URL))
}

func createTaskSetInput(token string) *ecs.CreateTaskSetInput {
	return &ecs.CreateTaskSetInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42"),
		ExternalId: aws.String("dep-1"), ClientToken: aws.String(token),
		LaunchType: ecstypes.LaunchTypeFargate, PlatformVersion: aws.String("1.4.0"),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}, AssignPublicIp: ecstypes.AssignPublicIpDisabled}},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg-b"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
		Scale:         &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 100},
	}
}

func TestECSCreateTaskSetClientTokenIsIdempotent(t *testing.T) {
	fake, client := newTestECS(t, ECSOptions{})
	if err := fake.CreateService(ECSService{Cluster: "prod", Name: "web", DesiredCount: 3, DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	// The first attempt takes effect but its response is lost to a 500; the
	// SDK retries with the same token and gets the same task set back.
	fake.LoseResponses("CreateTaskSet", 1)
	ctx := context.Background()
	first, err := client.CreateTaskSet(ctx, createTaskSetInput("tok-1"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := client.CreateTaskSet(ctx, createTaskSetInput("tok-1"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := aws.ToString(first.TaskSet.Id), aws.ToString(second.TaskSet.Id); a != b {
		t.Errorf("same client token created two task sets: %s and %s", a, b)
	}
	sets, err := fake.TaskSets("prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	want := []ECSTaskSet{{ID: aws.ToString(first.TaskSet.Id), ARN: aws.ToString(first.TaskSet.TaskSetArn), ExternalID: "dep-1",
		TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42", Status: "ACTIVE", StabilityStatus: "STEADY_STATE",
		TargetGroupARN: "tg-b", Scale: 100, Desired: 3, Running: 3, LaunchType: "FARGATE", PlatformVersion: "1.4.0",
		NetworkConfiguration: `{"awsvpcConfiguration":{"assignPublicIp":"DISABLED","securityGroups":["sg-1"],"subnets":["subnet-1"]}}`}}
	if diff := cmp.Diff(want, sets); diff != "" {
		t.Errorf("task sets (-want +got):\n%s", diff)
	}
	if got := fake.Faults.Calls()["CreateTaskSet"]; got != 3 {
		t.Errorf("CreateTaskSet calls = %d, want 3 (one lost, its retry, the second call)", got)
	}
}

func TestECSTaskSetLifecycle(t *testing.T) {
	clock := &manualClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	fake, client := newTestECS(t, ECSOptions{StartDelay: time.Minute, DrainDelay: time.Minute, Now: clock.Now})
	if err := fake.CreateService(ECSService{Cluster: "prod", Name: "web", DesiredCount: 3, DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := createTaskSetInput("")
	in.Scale.Value = 50
	created, err := client.CreateTaskSet(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id := created.TaskSet.Id
	describe := func() ecstypes.TaskSet {
		t.Helper()
		out, err := client.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TaskSets) != 1 {
			t.Fatalf("got %d task sets, want 1", len(out.TaskSets))
		}
		return out.TaskSets[0]
	}
	type counts struct {
		Desired, Running, Pending int32
		Stability                 ecstypes.StabilityStatus
		Status                    string
	}
	get := func() counts {
		ts := describe()
		return counts{ts.ComputedDesiredCount, ts.RunningCount, ts.PendingCount, ts.StabilityStatus, aws.ToString(ts.Status)}
	}
	steps := []struct {
		name string
		act  func() error
		want counts
	}{
		{"created: 50% of 3 rounds up to 2, pending", nil, counts{2, 0, 2, "STABILIZING", "ACTIVE"}},
		{"after the start delay", func() error { clock.Advance(time.Minute); return nil }, counts{2, 2, 0, "STEADY_STATE", "ACTIVE"}},
		{"scaled to 100%", func() error {
			_, err := client.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: id,
				Scale: &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 100}})
			return err
		}, counts{3, 2, 1, "STABILIZING", "ACTIVE"}},
		{"made primary", func() error {
			clock.Advance(time.Minute)
			_, err := client.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), PrimaryTaskSet: id})
			return err
		}, counts{3, 3, 0, "STEADY_STATE", "PRIMARY"}},
		{"scaled to 0", func() error {
			_, err := client.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: id,
				Scale: &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 0}})
			return err
		}, counts{0, 0, 0, "STEADY_STATE", "PRIMARY"}},
		{"deleted: draining", func() error {
			_, err := client.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: id})
			return err
		}, counts{0, 0, 0, "STEADY_STATE", "DRAINING"}},
	}
	for _, s := range steps {
		if s.act != nil {
			if err := s.act(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if diff := cmp.Diff(s.want, get()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
	clock.Advance(time.Minute)
	out, err := client.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSets: []string{*id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TaskSets) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("after draining: task sets %d, failures %+v; want none and one MISSING", len(out.TaskSets), out.Failures)
	}
}

func TestECSErrors(t *testing.T) {
	fake, client := newTestECS(t, ECSOptions{})
	if err := fake.CreateService(ECSService{Cluster: "prod", Name: "rolling", DesiredCount: 1}); err != nil {
		t.Fatal(err)
	}
	if err := fake.CreateService(ECSService{Cluster: "prod", Name: "web", DesiredCount: 1, DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func() error
		wantCode string
	}{
		{"service not EXTERNAL", func() error {
			in := createTaskSetInput("")
			in.Service = aws.String("rolling")
			_, err := client.CreateTaskSet(ctx, in)
			return err
		}, "InvalidParameterException"},
		{"unknown service", func() error {
			in := createTaskSetInput("")
			in.Service = aws.String("nope")
			_, err := client.CreateTaskSet(ctx, in)
			return err
		}, "ServiceNotFoundException"},
		{"unknown cluster", func() error {
			_, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
			return err
		}, "ClusterNotFoundException"},
		{"unknown task set", func() error {
			_, err := client.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: aws.String("ecs-svc/1")})
			return err
		}, "TaskSetNotFoundException"},
		{"delete without scaling down", func() error {
			out, err := client.CreateTaskSet(ctx, createTaskSetInput(""))
			if err != nil {
				return err
			}
			_, err = client.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskSet: out.TaskSet.Id})
			return err
		}, "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var apiErr smithy.APIError
			if err := tt.call(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
				t.Errorf("error = %v, want API error %s", err, tt.wantCode)
			}
		})
	}
	var nf *ecstypes.ServiceNotFoundException
	_, err := client.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("nope")})
	if !errors.As(err, &nf) {
		t.Errorf("error = %v, want a typed *ServiceNotFoundException", err)
	}
}

func TestECSFailingTaskDefinition(t *testing.T) {
	fake, client := newTestECS(t, ECSOptions{})
	if err := fake.CreateService(ECSService{Cluster: "prod", Name: "web", DesiredCount: 2, DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	const reason = "CannotPullContainerError: image not found"
	fake.FailTaskDefinition("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42", reason)
	ctx := context.Background()
	created, err := client.CreateTaskSet(ctx, createTaskSetInput("t"))
	if err != nil {
		t.Fatal(err)
	}
	if created.TaskSet.RunningCount != 0 {
		t.Errorf("running = %d, want 0", created.TaskSet.RunningCount)
	}
	list, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: created.TaskSet.Id, DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) != 2 {
		t.Fatalf("stopped tasks = %d, want 2", len(list.TaskArns))
	}
	tasks, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks.Tasks {
		if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || aws.ToString(task.StoppedReason) != reason {
			t.Errorf("task %s: stop code %q reason %q", aws.ToString(task.TaskArn), task.StopCode, aws.ToString(task.StoppedReason))
		}
	}
}

func TestECSThrottlingIsRetried(t *testing.T) {
	fake, client := newTestECS(t, ECSOptions{})
	if err := fake.CreateService(ECSService{Cluster: "prod", Name: "web", DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	fake.Faults.Add(Rule{Op: "DescribeServices", Fault: Throttling(), Times: 2})
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Services[0].DeploymentController.Type; got != ecstypes.DeploymentControllerTypeExternal {
		t.Errorf("deployment controller = %q", got)
	}
	if got := fake.Faults.Calls()["DescribeServices"]; got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
}
