package ecsnative_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestCheckConfig: what ECS cannot run is refused by bluegreen.New, before
// any call, with the field named.
func TestCheckConfig(t *testing.T) {
	smoke := []bluegreen.LifecycleHook{{Name: "smoke", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}
	tests := []struct {
		name  string
		mod   func(*bluegreen.Config)
		field string // "" when accepted
	}{
		{name: "linear 10% per minute", mod: func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(10, time.Minute); c.Hooks = smoke }},
		{name: "canary 0.1%", mod: func(c *bluegreen.Config) { c.Shift = bluegreen.Canary(0.1, 10*time.Minute) }},
		{name: "all at once", mod: func(c *bluegreen.Config) { c.Shift = bluegreen.AllAtOnce() }},
		{name: "linear step below 3%", mod: func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(2.5, time.Minute) }, field: "Shift.Percent"},
		{name: "step wait in seconds", mod: func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(10, 90*time.Second) }, field: "Shift.Wait"},
		{name: "canary wait over a day", mod: func(c *bluegreen.Config) { c.Shift = bluegreen.Canary(5, 25*time.Hour) }, field: "Shift.Wait"},
		{name: "bake over a day", mod: func(c *bluegreen.Config) { c.BakeTime = 1441 * time.Minute }, field: "BakeTime"},
		{name: "explicit steps", mod: func(c *bluegreen.Config) {
			c.Shift = bluegreen.Steps(bluegreen.Step{Green: 100, Wait: time.Minute}, bluegreen.Step{Green: bluegreen.Full})
		}, field: "Shift.Type"},
		{name: "go hook at the production shift", field: "Hooks[h].Stages", mod: func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StageProductionTrafficShift}}}
		}},
		{name: "go hook at reconcile", field: "Hooks[h].Stages", mod: func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StageReconcileService}}}
		}},
		{name: "pause longer than ECS waits", field: "Hooks[h].Timeout", mod: func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Pause: true, Timeout: 15 * 24 * time.Hour, Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := bluegreen.New(w.config(w.engine(t, nil), tt.mod))
			var ce *bluegreen.ConfigError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &ce) || ce.Field != tt.field):
				t.Fatalf("New: %v, want a ConfigError on %s", err, tt.field)
			}
			calls := w.fake.Faults.Calls()
			delete(calls, "CreateService") // the world's set-up
			if len(calls) != 0 {
				t.Errorf("ECS called before the deployment started: %v", calls)
			}
		})
	}
}

// TestNewOptions: bad Options are refused with the field named.
func TestNewOptions(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		opts  ecsnative.Options
		field string
	}{
		{ecsnative.Options{}, "Options.Client"},
		{ecsnative.Options{Client: w.client, PollInterval: -1}, "Options.PollInterval"},
		{ecsnative.Options{Client: w.client, LoadBalancers: []ecsnative.LoadBalancer{{TargetGroupARN: "tg", ContainerName: "app", ContainerPort: 80}}}, "Options.LoadBalancers[0].AlternateTargetGroupARN"},
		{ecsnative.Options{Client: w.client, LambdaHooks: []ecsnative.LambdaHook{{FunctionARN: "fn", RoleARN: "r", Stages: []bluegreen.Stage{bluegreen.StageBakeTime}}}}, "Options.LambdaHooks[0].Stages"},
		{ecsnative.Options{Client: w.client, Alarms: []string{" "}}, "Options.Alarms[0]"},
	}
	for _, tt := range tests {
		_, err := ecsnative.New(tt.opts)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("New(%+v): %v, want a ConfigError on %s", tt.opts, err, tt.field)
		}
	}
}
