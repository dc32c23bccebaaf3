package ecscompute

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FuzzRevisionOf feeds revisionOf task sets as ECS could describe them and
// checks that the revision it rebuilds is always valid, is named by the
// task definition's family:revision, and has a Spec that ParseSpec accepts
// and that names the same task definition, or no Spec.
func FuzzRevisionOf(f *testing.F) {
	f.Add("arn:aws:ecs:us-east-1:123456789012:task-definition/web:42", "ecs-svc/1", "FARGATE", "1.4.0", "subnet-1", "sg-1", "ENABLED", "")
	f.Add("web:7", "ecs-svc/2", "EC2", "", "", "", "", "FARGATE_SPOT")
	f.Add("arn:aws:ecs:us-east-1:123456789012:task-definition/", "", "", "", "subnet-1", "", "MAYBE", "")
	f.Add("", "ecs-svc/3", "WASM", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, taskDef, id, launchType, platform, subnet, sg, publicIP, provider string) {
		for _, s := range []string{taskDef, id, launchType, platform, subnet, sg, publicIP, provider} {
			if !utf8.ValidString(s) {
				t.Skip("ECS answers in JSON: its strings are UTF-8")
			}
		}
		ts := ecstypes.TaskSet{TaskDefinition: aws.String(taskDef), Id: aws.String(id), LaunchType: ecstypes.LaunchType(launchType),
			PlatformVersion: aws.String(platform)}
		if subnet != "" {
			ts.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets: []string{subnet}, SecurityGroups: []string{sg}, AssignPublicIp: ecstypes.AssignPublicIp(publicIP)}}
		}
		if provider != "" {
			ts.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(provider), Weight: 1}}
		}
		rev := revisionOf(ts)
		if err := rev.Validate("rev"); err != nil {
			t.Fatalf("revisionOf(%q) = %+v: %v", taskDef, rev, err)
		}
		want := taskDef
		if _, after, ok := strings.Cut(taskDef, ":task-definition/"); ok {
			want = after
		}
		if strings.TrimSpace(want) != "" && rev.Name != want {
			t.Errorf("revisionOf(%q).Name = %q, want %q", taskDef, rev.Name, want)
		}
		if rev.Spec == nil {
			return
		}
		spec, err := ParseSpec(rev)
		if err != nil {
			t.Fatalf("revisionOf(%q).Spec = %s does not parse: %v", taskDef, rev.Spec, err)
		}
		if spec.TaskDefinition != taskDef {
			t.Errorf("Spec.TaskDefinition = %q, want %q", spec.TaskDefinition, taskDef)
		}
	})
}
