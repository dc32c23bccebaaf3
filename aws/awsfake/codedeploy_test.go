package awsfake

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const testAppSpec = `{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"web:2","LoadBalancerInfo":{"ContainerName":"web","ContainerPort":8080}}}}],"Hooks":[{"AfterAllowTestTraffic":"check-test"},{"AfterAllowTraffic":"check-prod"}]}`

func cdCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func cdCreate(t *testing.T, c *codedeploy.Client, config string) (string, error) {
	t.Helper()
	out, err := c.CreateDeployment(t.Context(), &codedeploy.CreateDeploymentInput{ApplicationName: aws.String("shop"), DeploymentGroupName: aws.String("web"),
		DeploymentConfigName: aws.String(config), Description: aws.String("bluegreen d1"),
		AutoRollbackConfiguration: &types.AutoRollbackConfiguration{Enabled: true, Events: []types.AutoRollbackEvent{types.AutoRollbackEventDeploymentFailure, types.AutoRollbackEventDeploymentStopOnRequest}},
		Revision:                  &types.RevisionLocation{RevisionType: types.RevisionLocationTypeAppSpecContent, AppSpecContent: &types.AppSpecContent{Content: aws.String(testAppSpec)}}})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.DeploymentId), nil
}

// cdView is a deployment as the real client reads it: status, the
// lifecycle events' statuses, green's weight, the termination wait.
func cdView(t *testing.T, c *codedeploy.Client, id string) string {
	t.Helper()
	d, err := c.GetDeployment(t.Context(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	s := string(d.DeploymentInfo.Status)
	if d.DeploymentInfo.InstanceTerminationWaitTimeStarted {
		s += " termination-wait"
	}
	tg, err := c.ListDeploymentTargets(t.Context(), &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil || len(tg.TargetIds) != 1 {
		t.Fatalf("ListDeploymentTargets = %+v, %v", tg, err)
	}
	dt, err := c.GetDeploymentTarget(t.Context(), &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String(tg.TargetIds[0])})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range dt.DeploymentTarget.EcsTarget.LifecycleEvents {
		if e.Status != types.LifecycleEventStatusPending {
			s += " " + aws.ToString(e.LifecycleEventName) + "=" + string(e.Status)
		}
	}
	for _, ts := range dt.DeploymentTarget.EcsTarget.TaskSetsInfo {
		if ts.TaskSetLabel == types.TargetLabelGreen {
			s += " green=" + time.Duration(ts.TrafficWeight*float64(time.Second)).String()
		}
	}
	return s
}

// TestCodeDeploy drives the fake with the real client in virtual time: a
// linear deployment through its lifecycle events, the ready wait released
// by ContinueDeployment READY_WAIT, the traffic steps, the termination
// wait cut short by ContinueDeployment TERMINATION_WAIT; the errors
// CodeDeploy answers.
func TestCodeDeploy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		f := NewCodeDeploy(CodeDeployOptions{})
		f.CreateDeploymentGroup(CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", ReadyWait: 30 * time.Minute, TerminationWait: 60 * time.Minute})
		if err := f.CreateDeploymentConfig("Linear50Every1", CodeDeployRouting{Type: "TimeBasedLinear", Percentage: 50, Interval: time.Minute}); err != nil {
			t.Fatal(err)
		}
		c := codedeploy.NewFromConfig(InProcessConfig(f))
		if _, err := cdCreate(t, c, "NoSuchConfig"); cdCode(err) != "DeploymentConfigDoesNotExistException" {
			t.Errorf("unknown config: %v", err)
		}
		id, err := cdCreate(t, c, "Linear50Every1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cdCreate(t, c, "Linear50Every1"); cdCode(err) != "DeploymentLimitExceededException" {
			t.Errorf("a second active deployment: %v", err)
		}
		if _, err := c.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: types.DeploymentWaitTypeReadyWait}); cdCode(err) != "DeploymentIsNotInReadyStateException" {
			t.Errorf("continue before the wait: %v", err)
		}
		var got []string
		at := func(d time.Duration) { time.Sleep(d); got = append(got, cdView(t, c, id)) }
		at(5 * time.Second)
		at(50 * time.Second) // 55s: the ready wait
		if _, err := c.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: types.DeploymentWaitTypeReadyWait}); err != nil {
			t.Fatal(err)
		}
		at(15 * time.Second) // BeforeAllowTraffic done, 50%
		at(time.Minute)      // 100%
		at(20 * time.Second) // the termination wait
		if _, err := c.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: types.DeploymentWaitTypeTerminationWait}); err != nil {
			t.Fatal(err)
		}
		at(10 * time.Second)
		done := "AfterInstall=Succeeded AllowTestTraffic=Succeeded AfterAllowTestTraffic=Succeeded"
		if diff := cmp.Diff([]string{
			"InProgress BeforeInstall=InProgress green=0s",
			"Ready BeforeInstall=Succeeded Install=Succeeded " + done + " green=0s",
			"InProgress BeforeInstall=Succeeded Install=Succeeded " + done + " BeforeAllowTraffic=Succeeded AllowTraffic=InProgress green=50s",
			"InProgress BeforeInstall=Succeeded Install=Succeeded " + done + " BeforeAllowTraffic=Succeeded AllowTraffic=InProgress green=1m40s",
			"InProgress termination-wait BeforeInstall=Succeeded Install=Succeeded " + done + " BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Succeeded green=1m40s",
			"Succeeded termination-wait BeforeInstall=Succeeded Install=Succeeded " + done + " BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Succeeded green=1m40s",
		}, got); diff != "" {
			t.Errorf("deployment as read (-want +got; green's weight in percent as seconds):\n%s", diff)
		}
		if _, err := c.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id)}); cdCode(err) != "DeploymentAlreadyCompletedException" {
			t.Errorf("stop a finished deployment: %v", err)
		}
		if _, err := c.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String("d-NOPE")}); cdCode(err) != "DeploymentDoesNotExistException" {
			t.Errorf("unknown deployment: %v", err)
		}
		g, err := c.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String("shop"), DeploymentGroupName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		bg := g.DeploymentGroupInfo.BlueGreenDeploymentConfiguration
		if bg.DeploymentReadyOption.ActionOnTimeout != types.DeploymentReadyActionStopDeployment || bg.DeploymentReadyOption.WaitTimeInMinutes != 30 ||
			bg.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes != 60 || aws.ToString(g.DeploymentGroupInfo.EcsServices[0].ServiceName) != "web" {
			t.Errorf("GetDeploymentGroup = %+v", g.DeploymentGroupInfo)
		}
	})
}

// TestCodeDeployRollback: a failing Lambda hook fails its event and the
// deployment, and the automatic rollback deployment moves traffic back;
// StopDeployment with autoRollbackEnabled does the same; ListDeployments
// filters by group and creation time; an unanswered ready wait stops the
// deployment.
func TestCodeDeployRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		f := NewCodeDeploy(CodeDeployOptions{})
		f.CreateDeploymentGroup(CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", TerminationWait: 5 * time.Minute})
		c := codedeploy.NewFromConfig(InProcessConfig(f))
		f.FailHook("check-prod", "5xx on the production listener")
		first, err := cdCreate(t, c, "CodeDeployDefault.ECSAllAtOnce")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		d, err := c.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(first)})
		if err != nil {
			t.Fatal(err)
		}
		if d.DeploymentInfo.Status != types.DeploymentStatusFailed || d.DeploymentInfo.ErrorInformation.Code != types.ErrorCodeHookExecutionFailure || d.DeploymentInfo.RollbackInfo == nil {
			t.Fatalf("hook failed: %+v", d.DeploymentInfo)
		}
		rb, err := c.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: d.DeploymentInfo.RollbackInfo.RollbackDeploymentId})
		if err != nil || rb.DeploymentInfo.Status != types.DeploymentStatusSucceeded || rb.DeploymentInfo.Creator != types.DeploymentCreatorCodeDeployRollback {
			t.Fatalf("rollback deployment: %+v %v", rb, err)
		}
		if v := cdView(t, c, first); v != "Failed BeforeInstall=Succeeded Install=Succeeded AfterInstall=Succeeded AllowTestTraffic=Succeeded AfterAllowTestTraffic=Succeeded BeforeAllowTraffic=Succeeded AllowTraffic=Succeeded AfterAllowTraffic=Failed green=0s" {
			t.Errorf("failed deployment: %s", v)
		}
		f.FailHook("check-prod", "")
		mid := time.Now()
		time.Sleep(time.Second)
		second, err := cdCreate(t, c, "")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		if _, err := c.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(second), AutoRollbackEnabled: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		d, err = c.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(second)})
		if err != nil || d.DeploymentInfo.Status != types.DeploymentStatusStopped || d.DeploymentInfo.RollbackInfo == nil {
			t.Fatalf("stopped: %+v %v", d, err)
		}
		list, err := c.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String("shop"), DeploymentGroupName: aws.String("web"),
			CreateTimeRange: &types.TimeRange{Start: aws.Time(mid)}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{second, aws.ToString(d.DeploymentInfo.RollbackInfo.RollbackDeploymentId)}, list.Deployments); diff != "" {
			t.Errorf("ListDeployments since mid (-want +got):\n%s", diff)
		}
		if _, err := c.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String("shop"), DeploymentGroupName: aws.String("nope")}); cdCode(err) != "DeploymentGroupDoesNotExistException" {
			t.Errorf("unknown group: %v", err)
		}

		// A ready wait nobody answers stops the deployment at its end.
		f.CreateDeploymentGroup(CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", ReadyWait: 10 * time.Minute})
		time.Sleep(time.Minute)
		third, err := cdCreate(t, c, "")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Minute)
		d, err = c.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(third)})
		if err != nil || d.DeploymentInfo.Status != types.DeploymentStatusStopped || d.DeploymentInfo.ErrorInformation.Code != types.ErrorCodeTimeout {
			t.Fatalf("ready wait timed out: %+v %v", d.DeploymentInfo, err)
		}
		if n := f.Faults.Calls()["CreateDeployment"]; n != 3 {
			t.Errorf("CreateDeployment calls = %d, want 3", n)
		}
	})
}
