package aws_test

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
	"github.com/google/go-cmp/cmp"
)

// policyFileActions reads the sorted actions of an IAM policy file whose
// statements all allow.
func policyFileActions(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid    string
			Effect string
			Action []string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var actions []string
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			t.Errorf("%s: statement %s has Effect %q, want Allow", file, st.Sid, st.Effect)
		}
		actions = append(actions, st.Action...)
	}
	slices.Sort(actions)
	if doc.Version != "2012-10-17" || len(slices.Compact(slices.Clone(actions))) != len(actions) {
		t.Errorf("%s: version %q, or an action listed twice: %v", file, doc.Version, actions)
	}
	return actions
}

// clientField names an interface field of an options type and the IAM
// prefix of its service.
type clientField struct {
	options reflect.Type
	field   string
	prefix  string
}

// interfaceActions returns the IAM actions of the methods of the client
// interface in field of each options type.
func interfaceActions(clients ...clientField) []string {
	set := map[string]bool{}
	for _, c := range clients {
		f, ok := c.options.FieldByName(c.field)
		if !ok || f.Type.Kind() != reflect.Interface {
			panic(c.options.String() + "." + c.field + " is not an interface field")
		}
		for m := range f.Type.Methods() {
			set[iamAction(c.prefix, m.Name)] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// TestIAMPolicyRoute53Beanstalk checks that iam-policy-route53-beanstalk.json
// allows exactly the actions route53router and beanstalk call: those of
// the client interfaces their options take, each seen called by
// deployments through the fakes (Route 53 weighted records over two
// environments; CNAME swaps with environments kept, so that the third
// deployment updates one in place).
func TestIAMPolicyRoute53Beanstalk(t *testing.T) {
	observed := map[string]int{}
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		ebFake := awsfake.NewElasticBeanstalk(awsfake.ElasticBeanstalkOptions{LaunchDelay: time.Minute, UpdateDelay: time.Minute, TerminateDelay: time.Minute})
		ebFake.CreateApplication("shop")
		dns := awsfake.NewRoute53(awsfake.Route53Options{PropagationDelay: 10 * time.Second})
		zone := dns.CreateHostedZone("shop.example.com")
		ebClient := elasticbeanstalk.NewFromConfig(awsfake.InProcessConfig(ebFake))
		svc := func(name string) beanstalk.Service {
			return beanstalk.Service{Application: "shop", EnvironmentA: name + "-a", EnvironmentB: name + "-b",
				CNAMEPrefixA: "shop-" + name, CNAMEPrefixB: "shop-" + name + "-stage", SolutionStackName: "Go 1"}
		}
		web, api := svc("web"), svc("api")
		api.ProductionCNAMEPrefix = api.CNAMEPrefixA
		records, err := beanstalk.Route53Service(web, "us-east-1", zone, "www.shop.example.com", "test.shop.example.com")
		if err != nil {
			t.Fatal(err)
		}
		compute, err := beanstalk.New(beanstalk.Options{Client: ebClient, Services: map[string]beanstalk.Service{"web": web}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := beanstalk.New(beanstalk.Options{Client: ebClient, Services: map[string]beanstalk.Service{"api": api}, Keep: true, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		r53, err := route53router.New(route53router.Options{Client: route53.NewFromConfig(awsfake.InProcessConfig(dns)),
			Services: map[string]route53router.Service{"web": records}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		swap, err := beanstalk.NewSwapRouter(beanstalk.SwapOptions{Client: ebClient, Services: map[string]beanstalk.Service{"api": api}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		run := func(service string, c bluegreen.Compute, r bluegreen.Router, shift bluegreen.Shift, versions ...string) {
			d, err := bluegreen.New(bluegreen.Config{Compute: c, Router: r, Store: bluegreen.NewMemoryStore(), Shift: shift,
				BakeTime: time.Minute, HealthInterval: 10 * time.Second, VerifyInterval: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range versions {
				spec, _ := json.Marshal(beanstalk.Spec{VersionLabel: service + "-" + v, SourceBundle: &beanstalk.SourceBundle{S3Bucket: "builds", S3Key: v + ".zip"}})
				if _, err := d.Deploy(ctx, service, bluegreen.Revision{Name: v, Spec: spec}); err != nil {
					t.Fatalf("%s %s: %v", service, v, err)
				}
				time.Sleep(2 * time.Minute) // terminated environments are gone
			}
		}
		run("web", compute, r53, bluegreen.Linear(50, time.Minute), "v1", "v2")
		run("api", kept, swap, bluegreen.AllAtOnce(), "v1", "v2", "v3")
		for prefix, f := range map[string]*awsfake.Faults{"route53": &dns.Faults, "elasticbeanstalk": &ebFake.Faults} {
			for op, n := range f.Calls() {
				observed[iamAction(prefix, op)] += n
			}
		}
	})
	derived := interfaceActions(
		clientField{reflect.TypeFor[route53router.Options](), "Client", "route53"},
		clientField{reflect.TypeFor[beanstalk.Options](), "Client", "elasticbeanstalk"},
		clientField{reflect.TypeFor[beanstalk.SwapOptions](), "Client", "elasticbeanstalk"},
	)
	if diff := cmp.Diff(derived, slices.Sorted(maps.Keys(observed))); diff != "" {
		t.Errorf("actions of the client interfaces (-) against the calls observed (+):\n%s", diff)
	}
	if diff := cmp.Diff(derived, policyFileActions(t, "iam-policy-route53-beanstalk.json")); diff != "" {
		t.Errorf("actions the adapters call (-) against iam-policy-route53-beanstalk.json (+):\n%s", diff)
	}
}
