package awsfake

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// TestECSUpdateServicePrimaryTaskSetTakesIDOrARN checks that the task set
// to make primary may be named by its id or its full ARN, as the ECS API
// reference says ("the short name or full Amazon Resource Name (ARN) of the
// task set"), and that the service then carries its task definition.
func TestECSUpdateServicePrimaryTaskSetTakesIDOrARN(t *testing.T) {
	tests := []struct {
		name     string
		ref      func(first, second *ecs.CreateTaskSetOutput) string
		want     []string // statuses of the two task sets
		wantCode string   // error code, if the call fails
	}{
		{"by id", func(_, s *ecs.CreateTaskSetOutput) string { return aws.ToString(s.TaskSet.Id) }, []string{"ACTIVE", "PRIMARY"}, ""},
		{"by ARN", func(_, s *ecs.CreateTaskSetOutput) string { return aws.ToString(s.TaskSet.TaskSetArn) }, []string{"ACTIVE", "PRIMARY"}, ""},
		{"the primary one again", func(f, _ *ecs.CreateTaskSetOutput) string { return aws.ToString(f.TaskSet.TaskSetArn) }, []string{"PRIMARY", "ACTIVE"}, ""},
		{"unknown", func(_, _ *ecs.CreateTaskSetOutput) string { return "ecs-svc/1" }, []string{"PRIMARY", "ACTIVE"}, "TaskSetNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client := newTestECS(t, ECSOptions{})
			if err := fake.CreateService(ECSService{Cluster: "prod", Name: "web", DesiredCount: 2, DeploymentController: "EXTERNAL"}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			first, err := client.CreateTaskSet(ctx, createTaskSetInput("tok-1"))
			if err != nil {
				t.Fatal(err)
			}
			in := createTaskSetInput("tok-2")
			in.TaskDefinition, in.ExternalId = aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:43"), aws.String("dep-2")
			second, err := client.CreateTaskSet(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			primary := func(ref string) error {
				_, err := client.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
					PrimaryTaskSet: aws.String(ref)})
				return err
			}
			if err := primary(aws.ToString(first.TaskSet.Id)); err != nil {
				t.Fatal(err)
			}
			err = primary(tt.ref(first, second))
			var ae smithy.APIError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("UpdateServicePrimaryTaskSet: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode):
				t.Fatalf("UpdateServicePrimaryTaskSet = %v, want %s", err, tt.wantCode)
			}
			sets, err := fake.TaskSets("prod", "web")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ts := range sets {
				got = append(got, ts.Status)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
			if err != nil {
				t.Fatal(err)
			}
			wantTD := aws.ToString(first.TaskSet.TaskDefinition)
			if tt.want[1] == "PRIMARY" {
				wantTD = aws.ToString(second.TaskSet.TaskDefinition)
			}
			if got := aws.ToString(out.Services[0].TaskDefinition); got != wantTD {
				t.Errorf("service task definition = %s, want the primary task set's %s", got, wantTD)
			}
		})
	}
}
