package beanstalk_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/google/go-cmp/cmp"
)

// TestAgainstMoto checks the Compute's and the SwapRouter's Elastic
// Beanstalk calls against moto's, a second opinion on the query protocol's
// shapes, with one moto server for its subtests.
//
// moto's Elastic Beanstalk is partial (moto 5.2): it serves
// CreateApplication, CreateEnvironment, DescribeEnvironments and the tag
// calls, and answers 500 (NotImplementedError) to UpdateEnvironment,
// TerminateEnvironment, SwapEnvironmentCNAMEs, DescribeApplicationVersions
// and CreateApplicationVersion: the subtests that need those skip, naming
// the operation, and run should a later moto serve it. What it serves
// deviates from AWS in ways the test works around, each noted where it
// matters: every environment reports VersionLabel "1", Status Ready, Health
// Grey, an empty EnvironmentId and an empty CNAME (CNAMEPrefix is ignored),
// and DescribeEnvironments ignores its filters.
func TestAgainstMoto(t *testing.T) {
	base := awsfake.StartMoto(t)
	// One attempt per call: moto answers an operation it lacks with a 500,
	// which the SDK would otherwise retry with backoff.
	client := eb.NewFromConfig(awsfake.Config(base), func(o *eb.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	for _, name := range []string{app, "other"} {
		if _, err := client.CreateApplication(ctx, &eb.CreateApplicationInput{ApplicationName: aws.String(name)}); err != nil {
			t.Fatalf("CreateApplication %s: %v", name, err)
		}
	}
	// An environment of another application: AWS's DescribeEnvironments
	// returns only the application's and the names' environments
	// (API_DescribeEnvironments: ApplicationName and EnvironmentNames
	// "restrict the returned descriptions"), moto returns every
	// environment. The Compute must not take it for one of its slots.
	if _, err := client.CreateEnvironment(ctx, &eb.CreateEnvironmentInput{ApplicationName: aws.String("other"),
		EnvironmentName: aws.String("other-web"), SolutionStackName: aws.String("64bit Amazon Linux 2023 v4.3.0 running Go 1")}); err != nil {
		t.Fatal(err)
	}
	svc := service()
	svc.Tags = map[string]string{"team": "checkout", "cost-center": "42"}
	svc.OptionSettings = []beanstalk.OptionSetting{{Namespace: "aws:autoscaling:asg", OptionName: "MinSize", Value: "2"}}
	compute, err := beanstalk.New(beanstalk.Options{Client: client, Services: map[string]beanstalk.Service{"web": svc}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// moto records every environment as running version "1", whatever
	// VersionLabel CreateEnvironment gave (AWS runs the version asked
	// for): revisions labelled "1" let Status and ScaleUp's idempotence
	// see the version they expect.
	rev := bluegreen.Revision{Name: "1"}
	blue := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: rev, DeploymentID: "dep-1"}
	green := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: rev, DeploymentID: "dep-2"}

	t.Run("ScaleUpStatusDiscover", func(t *testing.T) {
		for _, env := range []bluegreen.Environment{blue, blue, green} {
			// The second ScaleUp of blue must make no CreateEnvironment:
			// moto refuses a second environment of one name.
			if err := compute.ScaleUp(ctx, env); err != nil {
				t.Fatalf("ScaleUp of slot %s: %v", env.Slot, err)
			}
		}
		out, err := client.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{ApplicationName: aws.String(app)})
		if err != nil {
			t.Fatal(err)
		}
		envs := map[string]types.EnvironmentDescription{}
		for _, e := range out.Environments {
			if aws.ToString(e.ApplicationName) == app {
				envs[aws.ToString(e.EnvironmentName)] = e
			}
		}
		if len(envs) != 2 || envs[svc.EnvironmentA].EnvironmentArn == nil || envs[svc.EnvironmentB].EnvironmentArn == nil {
			t.Fatalf("environments of %s in moto = %v, want %s and %s", app, slices.Sorted(maps.Keys(envs)), svc.EnvironmentA, svc.EnvironmentB)
		}
		// The tags CreateEnvironment carried (Tags.member.N.Key/Value)
		// are the one part of its input moto keeps.
		tags, err := client.ListTagsForResource(ctx, &eb.ListTagsForResourceInput{ResourceArn: envs[svc.EnvironmentA].EnvironmentArn})
		if err != nil {
			t.Fatal(err)
		}
		gotTags := map[string]string{}
		for _, tag := range tags.ResourceTags {
			gotTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if diff := cmp.Diff(svc.Tags, gotTags); diff != "" {
			t.Errorf("tags of %s in moto (-want +got):\n%s", svc.EnvironmentA, diff)
		}

		// moto's environments stay at Health Grey ("No Data"), which AWS
		// reports only until health reporting starts: Status maps it to
		// running but not yet healthy.
		for _, env := range []bluegreen.Environment{blue, green} {
			st, err := compute.Status(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			want := bluegreen.Status{Desired: 1, Running: 1, Reason: "environment " + svc.EnvironmentA + " has health Grey (No Data)"}
			if env.Slot == bluegreen.SlotB {
				want.Reason = "environment " + svc.EnvironmentB + " has health Grey (No Data)"
			}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("Status of slot %s (-want +got):\n%s", env.Slot, diff)
			}
		}

		found, err := compute.Discover(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		type summary struct {
			Slot         bluegreen.Slot
			Revision     string
			Spec         string
			DeploymentID string
			Primary      bool
		}
		var got []summary
		for _, f := range found {
			got = append(got, summary{f.Environment.Slot, f.Environment.Revision.Name, string(f.Environment.Revision.Spec), f.Environment.DeploymentID, f.Primary})
		}
		// DeploymentID is the EnvironmentId, which moto leaves empty (AWS:
		// "e-" and ten characters), and no environment is Primary: moto
		// gives no environment a CNAME, so none holds the production prefix.
		want := []summary{
			{bluegreen.SlotA, "1", `{"versionLabel":"1"}`, aws.ToString(envs[svc.EnvironmentA].EnvironmentId), false},
			{bluegreen.SlotB, "1", `{"versionLabel":"1"}`, aws.ToString(envs[svc.EnvironmentB].EnvironmentId), false},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Discover (-want +got):\n%s", diff)
		}
	})

	t.Run("SwapRouter", func(t *testing.T) {
		router, err := beanstalk.NewSwapRouter(beanstalk.SwapOptions{Client: client, Services: map[string]beanstalk.Service{"web": svc},
			SettleTime: time.Millisecond, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := router.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}}); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("SetRoutes of a split = %v, want an error with ErrInvalid", err)
		}
		got, err := router.Routes(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		// On AWS, slot A's environment, created first, holds the
		// production CNAME prefix (API_CreateEnvironment: CNAMEPrefix);
		// moto ignores CNAMEPrefix, so no environment holds it.
		if got != (bluegreen.Routes{}) {
			t.Fatalf("Routes = %v; want nothing routed, as moto gives no environment a CNAME", got)
		}
		err = router.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)})
		if code := router.ErrorCode(err); code != bluegreen.CodeFailedPrecondition {
			t.Errorf("SetRoutes with no environment holding the production CNAME = %v (code %v), want CodeFailedPrecondition", err, code)
		}
		_, err = client.SwapEnvironmentCNAMEs(ctx, &eb.SwapEnvironmentCNAMEsInput{SourceEnvironmentName: aws.String(svc.EnvironmentB),
			DestinationEnvironmentName: aws.String(svc.EnvironmentA)})
		skipUnserved(t, err, "SwapEnvironmentCNAMEs")
		t.Skip("moto serves SwapEnvironmentCNAMEs but ignores CNAMEPrefix: no environment holds the production CNAME to swap")
	})

	t.Run("SourceBundle", func(t *testing.T) {
		spec, err := json.Marshal(beanstalk.Spec{VersionLabel: "1", SourceBundle: &beanstalk.SourceBundle{S3Bucket: "shop-builds", S3Key: "web/1.zip"}})
		if err != nil {
			t.Fatal(err)
		}
		err = compute.ScaleUp(ctx, bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "1", Spec: spec}, DeploymentID: "dep-1"})
		skipUnserved(t, err, "DescribeApplicationVersions")
		skipUnserved(t, err, "CreateApplicationVersion")
		if err != nil {
			t.Fatalf("ScaleUp with a source bundle: %v", err)
		}
		out, err := client.DescribeApplicationVersions(ctx, &eb.DescribeApplicationVersionsInput{ApplicationName: aws.String(app), VersionLabels: []string{"1"}})
		if err != nil || len(out.ApplicationVersions) != 1 {
			t.Errorf("application version 1 after ScaleUp with a source bundle = %v, %v; want it created", out, err)
		}
	})

	t.Run("UpdateEnvironment", func(t *testing.T) {
		next := blue
		next.Revision, next.DeploymentID = bluegreen.Revision{Name: "2"}, "dep-3"
		err := compute.ScaleUp(ctx, next)
		skipUnserved(t, err, "UpdateEnvironment")
		if err != nil {
			t.Fatalf("ScaleUp of a new version over slot A: %v", err)
		}
	})

	t.Run("ScaleDown", func(t *testing.T) {
		err := compute.ScaleDown(ctx, green)
		skipUnserved(t, err, "TerminateEnvironment")
		if err != nil {
			t.Fatalf("ScaleDown: %v", err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			st, err := compute.Status(ctx, green)
			if err != nil {
				t.Fatal(err)
			}
			if st == (bluegreen.Status{}) || st.Reason == "environment "+svc.EnvironmentB+" is terminating" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status after ScaleDown = %+v, want terminating or gone", st)
			}
		}
		if err := compute.ScaleDown(ctx, green); err != nil {
			t.Errorf("second ScaleDown: %v", err)
		}
	})
}

// skipUnserved skips the test if err is moto's answer to an operation it
// does not implement: a 500 to op's call.
func skipUnserved(t *testing.T, err error, op string) {
	t.Helper()
	var (
		re *awshttp.ResponseError
		oe *smithy.OperationError
	)
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusInternalServerError && errors.As(err, &oe) && oe.Operation() == op {
		t.Skipf("moto does not serve Elastic Beanstalk's %s: it answers 500 (NotImplementedError)", op)
	}
}
