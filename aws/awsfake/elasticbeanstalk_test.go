package awsfake

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// TestElasticBeanstalk drives the fake with the real client: versions,
// an environment's life (Launching, Ready, Updating, Terminating,
// Terminated), a CNAME swap, health Red for a failing version, and the
// errors Elastic Beanstalk answers for a name or CNAME taken and a wrong state.
func TestElasticBeanstalk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		f := NewElasticBeanstalk(ElasticBeanstalkOptions{LaunchDelay: time.Minute, UpdateDelay: 30 * time.Second, TerminateDelay: time.Minute})
		f.CreateApplication("shop")
		c := eb.NewFromConfig(InProcessConfig(f))
		code := func(err error) string {
			var ae smithy.APIError
			if errors.As(err, &ae) {
				return ae.ErrorCode()
			}
			return ""
		}
		for _, v := range []string{"v1", "v2"} {
			if _, err := c.CreateApplicationVersion(ctx, &eb.CreateApplicationVersionInput{ApplicationName: aws.String("shop"), VersionLabel: aws.String(v),
				SourceBundle: &types.S3Location{S3Bucket: aws.String("b"), S3Key: aws.String(v + ".zip")}, Process: aws.Bool(true)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.CreateApplicationVersion(ctx, &eb.CreateApplicationVersionInput{ApplicationName: aws.String("shop"), VersionLabel: aws.String("v1")})
		if code(err) != "InvalidParameterValue" {
			t.Errorf("a second v1 = %v, want InvalidParameterValue", err)
		}
		vs, err := c.DescribeApplicationVersions(ctx, &eb.DescribeApplicationVersionsInput{ApplicationName: aws.String("shop"), VersionLabels: []string{"v2"}})
		if err != nil || len(vs.ApplicationVersions) != 1 || aws.ToString(vs.ApplicationVersions[0].SourceBundle.S3Key) != "v2.zip" {
			t.Fatalf("DescribeApplicationVersions = %+v, %v", vs, err)
		}
		create := func(name, prefix, label string) error {
			_, err := c.CreateEnvironment(ctx, &eb.CreateEnvironmentInput{ApplicationName: aws.String("shop"), EnvironmentName: aws.String(name),
				CNAMEPrefix: aws.String(prefix), VersionLabel: aws.String(label), SolutionStackName: aws.String("Go 1")})
			return err
		}
		if err := create("shop-a", "shop", "v1"); err != nil {
			t.Fatal(err)
		}
		if err := create("shop-a", "shop-x", "v1"); code(err) != "InvalidParameterValue" {
			t.Errorf("a second shop-a = %v, want InvalidParameterValue", err)
		}
		if err := create("shop-b", "shop", "v1"); code(err) != "InvalidParameterValue" {
			t.Errorf("a CNAME taken = %v, want InvalidParameterValue", err)
		}
		if err := create("shop-b", "shop-stage", "v9"); code(err) != "InvalidParameterValue" {
			t.Errorf("a missing version = %v, want InvalidParameterValue", err)
		}
		if err := create("shop-b", "shop-stage", "v2"); err != nil {
			t.Fatal(err)
		}
		describe := func() map[string]string {
			out, err := c.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{ApplicationName: aws.String("shop"), IncludeDeleted: aws.Bool(false)})
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, e := range out.Environments {
				m[aws.ToString(e.EnvironmentName)] = string(e.Status) + " " + string(e.Health) + " " + aws.ToString(e.VersionLabel) + " " + aws.ToString(e.CNAME)
			}
			return m
		}
		if diff := cmp.Diff(map[string]string{
			"shop-a": "Launching Grey v1 shop.us-east-1.elasticbeanstalk.com",
			"shop-b": "Launching Grey v2 shop-stage.us-east-1.elasticbeanstalk.com",
		}, describe()); diff != "" {
			t.Errorf("launching (-want +got):\n%s", diff)
		}
		_, err = c.SwapEnvironmentCNAMEs(ctx, &eb.SwapEnvironmentCNAMEsInput{SourceEnvironmentName: aws.String("shop-b"), DestinationEnvironmentName: aws.String("shop-a")})
		if code(err) != "InvalidParameterValue" {
			t.Errorf("a swap while launching = %v, want InvalidParameterValue", err)
		}
		time.Sleep(time.Minute)
		f.FailVersion("shop", "v2", "5xx")
		if _, err := c.SwapEnvironmentCNAMEs(ctx, &eb.SwapEnvironmentCNAMEsInput{SourceEnvironmentName: aws.String("shop-b"),
			DestinationEnvironmentName: aws.String("shop-a")}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{
			"shop-a": "Updating Grey v1 shop-stage.us-east-1.elasticbeanstalk.com",
			"shop-b": "Updating Grey v2 shop.us-east-1.elasticbeanstalk.com",
		}, describe()); diff != "" {
			t.Errorf("swapping (-want +got):\n%s", diff)
		}
		time.Sleep(30 * time.Second)
		if _, err := c.UpdateEnvironment(ctx, &eb.UpdateEnvironmentInput{EnvironmentName: aws.String("shop-a"), VersionLabel: aws.String("v2")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TerminateEnvironment(ctx, &eb.TerminateEnvironmentInput{EnvironmentName: aws.String("shop-b")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TerminateEnvironment(ctx, &eb.TerminateEnvironmentInput{EnvironmentName: aws.String("shop-b")}); code(err) != "InvalidParameterValue" {
			t.Errorf("terminating twice = %v, want InvalidParameterValue", err)
		}
		if diff := cmp.Diff(map[string]string{
			"shop-a": "Updating Grey v2 shop-stage.us-east-1.elasticbeanstalk.com",
			"shop-b": "Terminating Grey v2 shop.us-east-1.elasticbeanstalk.com",
		}, describe()); diff != "" {
			t.Errorf("updating and terminating (-want +got):\n%s", diff)
		}
		time.Sleep(time.Minute)
		if diff := cmp.Diff(map[string]string{"shop-a": "Ready Red v2 shop-stage.us-east-1.elasticbeanstalk.com"}, describe()); diff != "" {
			t.Errorf("after termination (-want +got):\n%s", diff)
		}
		all, err := c.DescribeEnvironments(ctx, &eb.DescribeEnvironmentsInput{ApplicationName: aws.String("shop")})
		if err != nil || len(all.Environments) != 2 {
			t.Errorf("with deleted environments: %d, %v; want 2", len(all.Environments), err)
		}
		// The terminated environment's name and CNAME are free again.
		if err := create("shop-b", "shop", "v1"); err != nil {
			t.Errorf("re-creating shop-b with its old CNAME: %v", err)
		}
		want := map[string]int{"CreateApplicationVersion": 3, "DescribeApplicationVersions": 1, "CreateEnvironment": 6, "DescribeEnvironments": 5,
			"SwapEnvironmentCNAMEs": 2, "UpdateEnvironment": 1, "TerminateEnvironment": 2}
		if diff := cmp.Diff(want, f.Faults.Calls()); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})
}

// TestElasticBeanstalkFaults: an injected throttling is retried by the
// SDK over a loopback server; a 400 that is not is returned.
func TestElasticBeanstalkFaults(t *testing.T) {
	f := NewElasticBeanstalk(ElasticBeanstalkOptions{})
	f.URL = ServeTest(t, f)
	f.CreateApplication("shop")
	c := eb.NewFromConfig(Config(f.URL))
	f.Faults.Add(Rule{Op: "DescribeEnvironments", Fault: Throttling(), Times: 2})
	if _, err := c.DescribeEnvironments(t.Context(), &eb.DescribeEnvironmentsInput{ApplicationName: aws.String("shop")}); err != nil {
		t.Fatalf("throttled twice, retried: %v", err)
	}
	if n := f.Faults.Injected(); n != 2 {
		t.Errorf("injected %d faults, want 2", n)
	}
	f.Faults.Add(Rule{Op: "TerminateEnvironment", Fault: Fault{Status: 400, Code: "InsufficientPrivilegesException", Message: "no"}})
	_, err := c.TerminateEnvironment(t.Context(), &eb.TerminateEnvironmentInput{EnvironmentName: aws.String("x")})
	var ip *types.InsufficientPrivilegesException
	if !errors.As(err, &ip) {
		t.Errorf("TerminateEnvironment = %v, want InsufficientPrivilegesException", err)
	}
}
