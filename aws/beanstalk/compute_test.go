package beanstalk_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestConformance runs bluegreentest.TestCompute (whose subtests cannot
// run in a synctest bubble) in real time, with environments that launch,
// update and terminate in 5ms.
func TestConformance(t *testing.T) {
	t.Parallel()
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		w := newWorld(awsfake.ElasticBeanstalkOptions{LaunchDelay: 5 * time.Millisecond, UpdateDelay: 5 * time.Millisecond, TerminateDelay: 5 * time.Millisecond})
		w.fake.FailVersion(app, "broken", "ELB health checks failing on /healthz")
		return bluegreentest.ComputeHarness{Compute: w.compute(t, beanstalk.Options{}), Service: "web",
			Revision:        func() bluegreen.Revision { return revision("v1") },
			FailingRevision: func() bluegreen.Revision { return revision("broken") },
			HealthTimeout:   5 * time.Second, PollInterval: 2 * time.Millisecond}
	})
}

// TestScaleUpCreatesThenUpdates follows one slot through create, update
// and terminate, in virtual time, and checks the calls made.
func TestScaleUpCreatesThenUpdates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(awsfake.ElasticBeanstalkOptions{LaunchDelay: 5 * time.Minute, UpdateDelay: 2 * time.Minute, TerminateDelay: time.Minute})
		c := w.compute(t, beanstalk.Options{})
		env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: revision("v1"), DeploymentID: "d1"}
		if err := c.ScaleUp(ctx, env); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(ctx, env)
		if err != nil || st.Ready() || st.Desired != 1 {
			t.Fatalf("Status while launching = %+v, %v", st, err)
		}
		time.Sleep(5 * time.Minute)
		if st, err := c.Status(ctx, env); err != nil || st != (bluegreen.Status{Desired: 1, Running: 1, Healthy: 1}) {
			t.Fatalf("Status once launched = %+v, %v", st, err)
		}
		e, _ := w.fake.Environment(app, "shop-web-a")
		if e.CNAME != "shop-web.us-east-1.elasticbeanstalk.com" || e.VersionLabel != "v1" || e.SolutionStackName == "" {
			t.Errorf("environment = %+v; want slot A's prefix, version v1 and the service's platform", e)
		}
		// The same slot with v2: an update in place.
		env2 := env
		env2.Revision, env2.DeploymentID = revision("v2"), "d2"
		if err := c.ScaleUp(ctx, env2); err != nil {
			t.Fatal(err)
		}
		if err := c.ScaleUp(ctx, env2); err != nil { // idempotent while updating
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		if st, err := c.Status(ctx, env2); err != nil || !st.Ready() {
			t.Fatalf("Status after the update = %+v, %v", st, err)
		}
		if err := c.ScaleDown(ctx, env2); err != nil {
			t.Fatal(err)
		}
		if err := c.ScaleDown(ctx, env2); err != nil { // idempotent while terminating
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if st, err := c.Status(ctx, env2); err != nil || st != (bluegreen.Status{}) {
			t.Fatalf("Status after ScaleDown = %+v, %v", st, err)
		}
		want := map[string]int{"DescribeApplicationVersions": 3, "CreateApplicationVersion": 2, "DescribeEnvironments": 9,
			"CreateEnvironment": 1, "UpdateEnvironment": 1, "TerminateEnvironment": 1}
		if diff := cmp.Diff(want, w.fake.Faults.Calls()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"v1", "v2"}, w.fake.Versions(app)); diff != "" {
			t.Errorf("versions (-want +got):\n%s", diff)
		}
	})
}

// TestScaleUpTakesTheFreePrefix: after a CNAME swap left slot A's prefix
// with slot B's environment, a new slot A environment takes B's old prefix.
func TestScaleUpTakesTheFreePrefix(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(awsfake.ElasticBeanstalkOptions{})
		c := w.compute(t, beanstalk.Options{})
		r := w.swapRouter(t)
		a := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: revision("v1"), DeploymentID: "d1"}
		b := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: revision("v2"), DeploymentID: "d2"}
		for _, env := range []bluegreen.Environment{a, b} {
			if err := c.ScaleUp(ctx, env); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err != nil {
			t.Fatal(err)
		}
		if err := c.ScaleDown(ctx, a); err != nil {
			t.Fatal(err)
		}
		a.Revision = revision("v3")
		if err := c.ScaleUp(ctx, a); err != nil {
			t.Fatal(err)
		}
		e, _ := w.fake.Environment(app, "shop-web-a")
		if e.CNAME != "shop-web-stage.us-east-1.elasticbeanstalk.com" {
			t.Errorf("new slot A environment's CNAME = %s, want slot B's old prefix", e.CNAME)
		}
	})
}

func TestStatusFailedAndDiscover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(awsfake.ElasticBeanstalkOptions{LaunchDelay: time.Minute})
		c := w.compute(t, beanstalk.Options{})
		w.fake.FailVersion(app, "v2", "100% of requests failing with HTTP 5xx")
		for _, env := range []bluegreen.Environment{
			{Service: "web", Slot: bluegreen.SlotA, Revision: revision("v1")},
			{Service: "web", Slot: bluegreen.SlotB, Revision: revision("v2")},
		} {
			if err := c.ScaleUp(ctx, env); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute)
		st, err := c.Status(ctx, bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: revision("v2")})
		if err != nil || !st.Failed || st.Reason == "" {
			t.Errorf("Status of a Red environment = %+v, %v; want Failed with a reason", st, err)
		}
		found, err := c.Discover(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		a, _ := w.fake.Environment(app, "shop-web-a")
		want := []bluegreen.Found{
			{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "v1", Spec: []byte(`{"versionLabel":"v1"}`)}, DeploymentID: a.ID},
				Status: bluegreen.Status{Desired: 1, Running: 1, Healthy: 1}, Primary: true},
			{Environment: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "v2", Spec: []byte(`{"versionLabel":"v2"}`)}},
				Status: st},
		}
		b, _ := w.fake.Environment(app, "shop-web-b")
		want[1].Environment.DeploymentID = b.ID
		if diff := cmp.Diff(want, found); diff != "" {
			t.Errorf("Discover (-want +got):\n%s", diff)
		}
		// A discovered environment is found again by Status with its revision.
		if st, err := c.Status(ctx, found[0].Environment); err != nil || !st.Ready() {
			t.Errorf("Status of the discovered environment = %+v, %v", st, err)
		}
	})
}

func TestKeep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(awsfake.ElasticBeanstalkOptions{})
		c := w.compute(t, beanstalk.Options{Keep: true})
		env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: revision("v1")}
		if err := c.ScaleUp(ctx, env); err != nil {
			t.Fatal(err)
		}
		if err := c.ScaleDown(ctx, env); err != nil {
			t.Fatal(err)
		}
		if n := w.fake.Faults.Calls()["TerminateEnvironment"]; n != 0 {
			t.Errorf("TerminateEnvironment called %d times with Keep", n)
		}
	})
}

func TestFaultsAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		w := newWorld(awsfake.ElasticBeanstalkOptions{TerminateDelay: time.Minute})
		c := w.compute(t, beanstalk.Options{})
		w.fake.Faults.Add(awsfake.Rule{Op: "CreateEnvironment", Fault: awsfake.Throttling(), Times: 2})
		env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: revision("v1")}
		if err := c.ScaleUp(ctx, env); err != nil {
			t.Fatalf("ScaleUp with throttling retried by the SDK: %v", err)
		}
		if err := c.ScaleDown(ctx, env); err != nil {
			t.Fatal(err)
		}
		// Still terminating: CodeTransient, so the Deployer retries.
		err := c.ScaleUp(ctx, env)
		if code := bluegreen.ErrorCode(err); code != bluegreen.CodeTransient {
			t.Errorf("ScaleUp while terminating = %v (code %v), want CodeTransient", err, code)
		}
		// A version that does not exist, without a bundle: InvalidParameterValue.
		time.Sleep(time.Minute)
		err = c.ScaleUp(ctx, bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "v9"}})
		if code := c.ErrorCode(err); code != bluegreen.CodeInvalid {
			t.Errorf("ScaleUp of a missing version = %v (code %v), want CodeInvalid", err, code)
		}
		var ce *bluegreen.ConfigError
		err = c.ScaleUp(ctx, bluegreen.Environment{Service: "nope", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "v1"}})
		if !errors.As(err, &ce) || ce.Field != "service" {
			t.Errorf("ScaleUp of an unknown service = %v, want a ConfigError", err)
		}
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	w := newWorld(awsfake.ElasticBeanstalkOptions{})
	tests := []struct {
		name  string
		edit  func(*beanstalk.Service)
		field string
	}{
		{"NoApplication", func(s *beanstalk.Service) { s.Application = "" }, "Application"},
		{"ShortName", func(s *beanstalk.Service) { s.EnvironmentA = "ab" }, "EnvironmentA"},
		{"SameEnvironments", func(s *beanstalk.Service) { s.EnvironmentB = s.EnvironmentA }, "EnvironmentB"},
		{"SamePrefixes", func(s *beanstalk.Service) { s.CNAMEPrefixB = s.CNAMEPrefixA }, "CNAMEPrefixB"},
		{"ForeignProductionPrefix", func(s *beanstalk.Service) { s.ProductionCNAMEPrefix = "other" }, "ProductionCNAMEPrefix"},
		{"TwoPlatforms", func(s *beanstalk.Service) { s.TemplateName = "t" }, "SolutionStackName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := service()
			tt.edit(&s)
			_, err := beanstalk.New(beanstalk.Options{Client: w.client, Services: map[string]beanstalk.Service{"web": s}})
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != "beanstalk.Options.Services[web]."+tt.field {
				t.Errorf("New = %v, want a ConfigError for %s", err, tt.field)
			}
		})
	}
}
