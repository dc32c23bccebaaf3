package codedeployengine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/codedeployengine"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// world is a CodeDeploy fake with the group "shop/web" (a ready wait of
// 60 minutes, a termination wait of 60 minutes), a custom config
// "Linear50Every1" and an engine over it polling every 10s.
type world struct {
	cd     *awsfake.CodeDeploy
	engine *codedeployengine.Engine
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cd := awsfake.NewCodeDeploy(awsfake.CodeDeployOptions{})
	cd.CreateDeploymentGroup(awsfake.CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", ReadyWait: time.Hour, TerminationWait: time.Hour})
	if err := cd.CreateDeploymentConfig("Linear50Every1", awsfake.CodeDeployRouting{Type: "TimeBasedLinear", Percentage: 50, Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	e, err := codedeployengine.New(codedeployengine.Options{Client: codedeploy.NewFromConfig(awsfake.InProcessConfig(cd)),
		Services:             map[string]codedeployengine.Service{"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080}},
		DeploymentConfigName: "Linear50Every1", PollInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &world{cd: cd, engine: e}
}

func (w *world) config(store bluegreen.Store, mod func(*bluegreen.Config)) bluegreen.Config {
	n := 0
	cfg := bluegreen.Config{Engine: w.engine, Store: store, Owner: "test-owner", NewID: func() string { n++; return fmt.Sprintf("d%d", n) },
		Shift: bluegreen.Linear(50, time.Minute), BakeTime: 5 * time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func mustNew(t *testing.T, cfg bluegreen.Config) *bluegreen.Deployer {
	t.Helper()
	d, err := bluegreen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConformance runs the lifecycle tests every bluegreen.Engine passes
// (bluegreentest.TestEngine, which the root package runs over the reference
// platform) over CodeDeploy: the same events where CodeDeploy agrees. The
// difference: a pause can wait only at CodeDeploy's two waits, so the pause
// is at PRE_PRODUCTION_TRAFFIC_SHIFT (the ready wait), not POST_SCALE_UP
// (refused: TestCheckConfig).
func TestConformance(t *testing.T) {
	bluegreentest.TestEngine(t, func(t *testing.T) bluegreentest.EngineHarness {
		w := newWorld(t)
		return bluegreentest.EngineHarness{Engine: w.engine, Service: "web", Revision: bluegreen.Revision{Name: "web:2"},
			PauseStage: bluegreen.StagePreProductionTrafficShift,
			Starts:     func() int { return w.cd.Faults.Calls()["CreateDeployment"] },
			Check: func(t *testing.T, res bluegreen.Result) {
				deps := w.cd.Deployments()
				want := map[bluegreen.Outcome]string{bluegreen.OutcomeSucceeded: "Succeeded", bluegreen.OutcomeRolledBack: "Stopped"}[res.Outcome]
				if len(deps) == 0 || deps[0].Status != want || deps[0].TaskDefinition != "web:2" || deps[0].ConfigName != "Linear50Every1" {
					t.Errorf("CodeDeploy deployments %+v, want the first %s", deps, want)
				}
			}}
	})
}

// TestEngineLambdaHookFails: a Lambda hook of the AppSpec fails; CodeDeploy
// fails the deployment and rolls it back; the engine reports a rollback
// by the backend.
func TestEngineLambdaHookFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cd := awsfake.NewCodeDeploy(awsfake.CodeDeployOptions{})
		cd.CreateDeploymentGroup(awsfake.CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", TerminationWait: 10 * time.Minute})
		cd.FailHook("check-install", "tasks did not answer")
		e, err := codedeployengine.New(codedeployengine.Options{Client: codedeploy.NewFromConfig(awsfake.InProcessConfig(cd)),
			Services: map[string]codedeployengine.Service{"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080,
				Hooks: codedeployengine.LambdaHooks{AfterInstall: "check-install"}}}})
		if err != nil {
			t.Fatal(err)
		}
		d := mustNew(t, bluegreen.Config{Engine: e, Store: bluegreen.NewMemoryStore(), Shift: bluegreen.AllAtOnce()})
		res, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2", Spec: []byte(`{"taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"}`)})
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerBackend || res.Rollback.By != "HOOK_EXECUTION_FAILURE" ||
			!strings.Contains(res.Rollback.Reason, "tasks did not answer") || res.Rollback.Stage != bluegreen.StagePostScaleUp {
			t.Fatalf("Deploy: %v, rollback %+v", err, res.Rollback)
		}
		deps := cd.Deployments()
		if deps[0].Hooks["AfterInstall"] != "check-install" || deps[0].Events["AfterInstall"] != "Failed" || deps[0].TaskDefinition != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2" {
			t.Errorf("CodeDeploy deployment %+v", deps[0])
		}
	})
}

// lossyClient loses the answer of the first CreateDeployment: CodeDeploy
// created the deployment, the caller saw an error.
type lossyClient struct {
	*codedeploy.Client
	lost bool
}

func (c *lossyClient) CreateDeployment(ctx context.Context, in *codedeploy.CreateDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error) {
	out, err := c.Client.CreateDeployment(ctx, in, optFns...)
	if err == nil && !c.lost {
		c.lost = true
		return nil, errors.New("connection reset by peer")
	}
	return out, err
}

// TestEngineFindsByMarker: a Run that saved its intent but never learned
// the deployment's id (the answer of CreateDeployment was lost) leaves the
// deployment unfinished; Reconcile finds the CodeDeploy deployment by the
// intent's marker (ListDeployments since the intent, GetDeployment's
// description) and follows it, instead of creating a second one.
func TestEngineFindsByMarker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		e, err := codedeployengine.New(codedeployengine.Options{Client: &lossyClient{Client: codedeploy.NewFromConfig(awsfake.InProcessConfig(w.cd))},
			Services:             map[string]codedeployengine.Service{"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080}},
			DeploymentConfigName: "Linear50Every1", PollInterval: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		w.engine = e
		store := bluegreen.NewMemoryStore()
		_, err = mustNew(t, w.config(store, nil)).Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("first Run: %v, want the lost answer", err)
		}
		time.Sleep(2 * time.Minute)
		res, err := mustNew(t, w.config(store, func(c *bluegreen.Config) { c.Owner = "successor" })).Reconcile(t.Context(), "web")
		if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("Reconcile: %v %+v", err, res)
		}
		calls := w.cd.Faults.Calls()
		if calls["CreateDeployment"] != 1 || calls["ListDeployments"] != 1 {
			t.Errorf("CreateDeployment %d times, ListDeployments %d times; want 1 and 1", calls["CreateDeployment"], calls["ListDeployments"])
		}
		if deps := w.cd.Deployments(); len(deps) != 1 || deps[0].Status != "Succeeded" || !strings.HasPrefix(deps[0].Description, "bluegreen deployment d1 of web: web:2") {
			t.Errorf("CodeDeploy deployments %+v", deps)
		}
	})
}

// TestEnginePromote: Promote during the bake ends CodeDeploy's
// termination wait at once; during the shift it is refused with the reason.
func TestEnginePromote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		var dep *bluegreen.Deployment
		started := make(chan struct{})
		refused, promoted := make(chan error, 1), make(chan error, 1)
		d := mustNew(t, w.config(bluegreen.NewMemoryStore(), func(c *bluegreen.Config) {
			c.BakeTime = 50 * time.Minute
			c.Callbacks.OnEvent = func(ev bluegreen.Event) {
				<-started
				switch {
				case ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageProductionTrafficShift && ev.Step == 1:
					go func() { refused <- dep.Promote(context.Background()) }()
				case ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime:
					go func() { promoted <- dep.Promote(context.Background()) }()
				}
			}
		}))
		var err error
		dep, err = d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
		close(started)
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := <-refused; !errors.Is(err, bluegreen.ErrFailedPrecondition) || !strings.Contains(err.Error(), "cannot skip the steps") {
			t.Errorf("Promote during the shift: %v", err)
		}
		if err := <-promoted; err != nil {
			t.Errorf("Promote in the bake: %v", err)
		}
		if took := time.Since(begin); took > 10*time.Minute {
			t.Errorf("the deployment took %v: the 50m bake was not skipped", took)
		}
	})
}

// TestCheckConfig: hooks where CodeDeploy cannot pause, and shifts no
// deployment configuration carries, are refused by New with the fix; a
// predefined configuration is chosen when one matches.
func TestCheckConfig(t *testing.T) {
	e, err := codedeployengine.New(codedeployengine.Options{Client: codedeploy.New(codedeploy.Options{Region: "us-east-1"}),
		Services: map[string]codedeployengine.Service{"web": {Application: "a", DeploymentGroup: "g", ContainerName: "web", ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	hook := bluegreentest.NewHook()
	tests := []struct {
		name  string
		shift bluegreen.Shift
		hooks []bluegreen.LifecycleHook
		want  string // a part of the error; "" for none
	}{
		{name: "predefined linear", shift: bluegreen.Linear(10, time.Minute)},
		{name: "predefined canary", shift: bluegreen.Canary(10, 15*time.Minute)},
		{name: "all at once", shift: bluegreen.AllAtOnce()},
		{name: "custom linear", shift: bluegreen.Linear(25, 2*time.Minute), want: "CreateDeploymentConfig (computePlatform ECS, trafficRoutingConfig type TimeBasedLinear, timeBasedLinear: linearPercentage=25, linearInterval=2)"},
		{name: "custom canary", shift: bluegreen.Canary(5, 10*time.Minute), want: "canaryPercentage=5, canaryInterval=10"},
		{name: "seconds", shift: bluegreen.Linear(10, 30*time.Second), want: "whole minutes"},
		{name: "uneven steps", shift: bluegreen.Steps(bluegreen.Step{Green: 100, Wait: time.Minute}, bluegreen.Step{Green: 600, Wait: time.Minute}, bluegreen.Step{Green: bluegreen.Full}), want: "cannot move traffic in these steps"},
		{name: "pause at POST_SCALE_UP", hooks: []bluegreen.LifecycleHook{{Name: "approve", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}},
			want: `hook "approve" is bound to POST_SCALE_UP, where CodeDeploy cannot pause an ECS deployment for an in-process hook (run it as a Lambda hook in the AppSpec (codedeployengine.Service.Hooks.AfterInstall)`},
		{name: "hook at PRE_SCALE_UP", hooks: []bluegreen.LifecycleHook{{Name: "h", Hook: hook, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}}}, want: "Hooks.BeforeInstall"},
		{name: "hooks at both waits", hooks: []bluegreen.LifecycleHook{{Name: "h", Hook: hook, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift, bluegreen.StagePreProductionTrafficShift, bluegreen.StagePostProductionTrafficShift}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bluegreen.New(bluegreen.Config{Engine: e, Store: bluegreen.NewMemoryStore(), Shift: tt.shift, Hooks: tt.hooks})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, bluegreen.ErrInvalid)):
				t.Errorf("New: %v, want an invalid-config error with %q", err, tt.want)
			}
		})
	}
}

// TestEngineGroupPrecondition: a group without the waits the hooks and the
// bake time need is refused before any deployment is created.
func TestEngineGroupPrecondition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cd := awsfake.NewCodeDeploy(awsfake.CodeDeployOptions{})
		cd.CreateDeploymentGroup(awsfake.CodeDeployGroup{Application: "shop", Name: "web", Cluster: "prod", Service: "web", TerminationWait: time.Minute})
		e, err := codedeployengine.New(codedeployengine.Options{Client: codedeploy.NewFromConfig(awsfake.InProcessConfig(cd)),
			Services: map[string]codedeployengine.Service{"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			cfg  bluegreen.Config
			want string
		}{
			{bluegreen.Config{BakeTime: 5 * time.Minute}, "terminationWaitTimeInMinutes (1m0s) is shorter"},
			{bluegreen.Config{Hooks: []bluegreen.LifecycleHook{{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}}, "STOP_DEPLOYMENT"},
		} {
			tc.cfg.Engine, tc.cfg.Store = e, bluegreen.NewMemoryStore()
			_, err := mustNew(t, tc.cfg).Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
			if !errors.Is(err, bluegreen.ErrFailedPrecondition) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Deploy: %v, want %q", err, tc.want)
			}
		}
		if n := cd.Faults.Calls()["CreateDeployment"]; n != 0 {
			t.Errorf("CreateDeployment called %d times", n)
		}
	})
}

// TestEngineCalls measures the CodeDeploy calls of one linear deployment
// (CodeDeployDefault.ECSLinear10PercentEvery1Minutes) with two Go hooks
// (POST_TEST_TRAFFIC_SHIFT at the ready wait, POST_PRODUCTION_TRAFFIC_SHIFT
// at the termination wait), a 5m bake and the default 15s poll, in
// virtual time: one GetDeployment and one GetDeploymentTarget per poll.
func TestEngineCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		e, err := codedeployengine.New(codedeployengine.Options{Client: codedeploy.NewFromConfig(awsfake.InProcessConfig(w.cd)),
			Services: map[string]codedeployengine.Service{"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080}}})
		if err != nil {
			t.Fatal(err)
		}
		w.engine = e
		d := mustNew(t, w.config(bluegreen.NewMemoryStore(), func(c *bluegreen.Config) {
			c.Shift = bluegreen.Linear(10, time.Minute)
			c.Hooks = []bluegreen.LifecycleHook{
				{Name: "smoke", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}},
				{Name: "verdict", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}},
			}
		}))
		begin := time.Now()
		if _, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2"}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(begin)
		calls := w.cd.Faults.Calls()
		total := 0
		for _, n := range calls {
			total += n
		}
		t.Logf("%d CodeDeploy calls in %v (virtual): %v", total, took, calls)
		want := map[string]int{"GetDeploymentGroup": 1, "CreateDeployment": 1, "ListDeploymentTargets": 1, "ContinueDeployment": 2,
			"GetDeployment": calls["GetDeploymentTarget"]}
		for op, n := range want {
			if calls[op] != n {
				t.Errorf("%s called %d times, want %d", op, calls[op], n)
			}
		}
		if polls := calls["GetDeployment"]; polls > int(took/(15*time.Second))+3 {
			t.Errorf("%d polls in %v at 15s", polls, took)
		}
	})
}
