package codedeployengine

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/bluegreen-go/bluegreen"
)

// Migration is what a CodeDeploy user moving to the library's own engine
// brings: the AppSpec and the deployment group's settings.
type Migration struct {
	// AppSpec is the appspec.yaml (or .json) of the ECS deployments. Required.
	AppSpec []byte
	// DeploymentConfigName is the group's deployment configuration, when a
	// predefined one (see Predefined); else set Routing.
	DeploymentConfigName string
	// Routing is a custom configuration's traffic routing (see
	// RoutingFromSDK for GetDeploymentConfig's answer).
	Routing *Routing
	// ReadyWait is the deploymentReadyOption's waitTimeInMinutes when its
	// actionOnTimeout is STOP_DEPLOYMENT; zero for CONTINUE_DEPLOYMENT.
	ReadyWait time.Duration
	// TerminationWait is terminateBlueInstancesOnDeploymentSuccess's
	// terminationWaitTimeInMinutes.
	TerminationWait time.Duration
}

// RoutingFromSDK converts a deployment configuration's traffic routing,
// as GetDeploymentConfig returns it.
func RoutingFromSDK(c types.TrafficRoutingConfig) Routing {
	r := Routing{Type: string(c.Type)}
	switch {
	case c.TimeBasedLinear != nil:
		r.Percentage, r.IntervalMinutes = int(c.TimeBasedLinear.LinearPercentage), int(c.TimeBasedLinear.LinearInterval)
	case c.TimeBasedCanary != nil:
		r.Percentage, r.IntervalMinutes = int(c.TimeBasedCanary.CanaryPercentage), int(c.TimeBasedCanary.CanaryInterval)
	}
	return r
}

// hookStage is where the library runs what an AppSpec hook ran.
var hookStage = map[string]bluegreen.Stage{
	"BeforeInstall":         bluegreen.StagePreScaleUp,
	"AfterInstall":          bluegreen.StagePostScaleUp,
	"AfterAllowTestTraffic": bluegreen.StagePostTestTrafficShift,
	"BeforeAllowTraffic":    bluegreen.StagePreProductionTrafficShift,
	"AfterAllowTraffic":     bluegreen.StagePostProductionTrafficShift,
}

// ConfigFromAppSpec reads a CodeDeploy ECS setup into a bluegreen.Config
// for the library's own engine: Shift from the deployment configuration,
// BakeTime from the termination wait, a pause hook for a ready wait. It
// returns notes on what it could not carry over, each saying what to do:
// the Lambda hooks (CodeDeploy's answer with
// PutLifecycleEventHookExecutionStatus, the library's as ECS lifecycle
// hooks do), the task definition and the service's other properties
// (they belong to the Compute's revision spec), and Compute, Router and
// Store, which the caller sets.
func ConfigFromAppSpec(m Migration) (bluegreen.Config, []string, error) {
	a, err := ParseAppSpec(m.AppSpec)
	if err != nil {
		return bluegreen.Config{}, nil, err
	}
	var r Routing
	switch {
	case m.Routing != nil:
		r = *m.Routing
	case m.DeploymentConfigName == "":
		r = Predefined["CodeDeployDefault.ECSAllAtOnce"]
	default:
		var ok bool
		if r, ok = Predefined[m.DeploymentConfigName]; !ok {
			return bluegreen.Config{}, nil, &bluegreen.ConfigError{Field: "Migration.DeploymentConfigName", Problem: fmt.Sprintf("%q is not a predefined ECS configuration", m.DeploymentConfigName),
				Fix: "read the custom configuration with GetDeploymentConfig and pass RoutingFromSDK(out.DeploymentConfigInfo.TrafficRoutingConfig) as Migration.Routing"}
		}
	}
	shift, err := r.Shift()
	if err != nil {
		return bluegreen.Config{}, nil, &bluegreen.ConfigError{Field: "Migration.Routing", Problem: err.Error(), Fix: "pass the deployment configuration's traffic routing as GetDeploymentConfig returns it"}
	}
	if m.ReadyWait < 0 || m.TerminationWait < 0 {
		return bluegreen.Config{}, nil, &bluegreen.ConfigError{Field: "Migration.ReadyWait", Problem: "negative wait", Fix: "pass the group's waits in minutes, zero or more"}
	}
	cfg := bluegreen.Config{Shift: shift, BakeTime: m.TerminationWait}
	notes := []string{
		fmt.Sprintf("TaskDefinition %s with container %s:%d: put them in the revision your Compute deploys (for ecscompute, its revision spec); Compute, Router and Store are yours to set", a.TaskDefinition, a.ContainerName, a.ContainerPort),
	}
	if a.PlatformVersion != "" {
		notes = append(notes, fmt.Sprintf("PlatformVersion %s: set it on the Compute's task sets", a.PlatformVersion))
	}
	for _, o := range a.Other {
		notes = append(notes, fmt.Sprintf("%s: not carried over; set it on the Compute's task sets", o))
	}
	if m.ReadyWait > 0 {
		cfg.Hooks = append(cfg.Hooks, bluegreen.LifecycleHook{Name: "ready-wait", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
			Timeout: m.ReadyWait, TimeoutAction: bluegreen.TimeoutRollback})
		notes = append(notes, fmt.Sprintf("the wait before rerouting production traffic (STOP_DEPLOYMENT, %v) is the pause hook \"ready-wait\" at POST_TEST_TRAFFIC_SHIFT: release it with Deployment.Continue instead of ContinueDeployment; it rolls back at its timeout as CodeDeploy stops the deployment", m.ReadyWait))
	}
	for _, h := range a.Hooks.list() {
		s := hookStage[h[0]]
		note := fmt.Sprintf("Lambda hook %s (%s) is not carried over: it reports with CodeDeploy's PutLifecycleEventHookExecutionStatus, and the library's hooks answer as ECS lifecycle hooks do; bind a Go Hook, or lambdahook.Hook over a function changed to return {\"hookStatus\": ...}, at %s", h[1], h[0], s)
		if s == bluegreen.StagePreProductionTrafficShift {
			note += " (it runs there before every production step, where CodeDeploy ran it once)"
		}
		notes = append(notes, note)
	}
	if m.TerminationWait > 0 {
		notes = append(notes, fmt.Sprintf("the termination wait (%v) is BakeTime; the group's CloudWatch alarms are not read here: add them as Monitors (cwmonitor) to roll back on them during the shift and the bake", m.TerminationWait))
	}
	return cfg, notes, nil
}
