package beanstalk_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestBrownfieldConformance runs bluegreentest.TestBrownfield over
// Beanstalk environments behind Route 53 weighted records: an environment
// someone launched by hand serves all production traffic through records
// someone made (weight 255 on it, 0 on the other slot's CNAME), and the
// store has no record. The suite runs in real time, so the fakes answer in
// milliseconds and the records' TTL is 0.
func TestBrownfieldConformance(t *testing.T) {
	t.Parallel()
	bluegreentest.TestBrownfield(t, func(t *testing.T) bluegreentest.BrownfieldHarness {
		w := newWorld(awsfake.ElasticBeanstalkOptions{LaunchDelay: 5 * time.Millisecond, UpdateDelay: 5 * time.Millisecond, TerminateDelay: 5 * time.Millisecond})
		dns := awsfake.NewRoute53(awsfake.Route53Options{PropagationDelay: time.Millisecond})
		zone := dns.CreateHostedZone("shop.example.com")
		svc := service()
		svc.ProductionCNAMEPrefix = "" // each environment keeps its slot's CNAME
		records, err := beanstalk.Route53Service(svc, "us-east-1", zone, "www.shop.example.com", "test.shop.example.com")
		if err != nil {
			t.Fatal(err)
		}
		router, err := route53router.New(route53router.Options{Client: route53.NewFromConfig(awsfake.InProcessConfig(dns)),
			Services: map[string]route53router.Service{"web": records}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		opts := beanstalk.Options{Services: map[string]beanstalk.Service{"web": svc}}
		return bluegreentest.BrownfieldHarness{
			Compute: w.compute(t, opts), Router: router, Service: "web",
			Live: func(ctx context.Context) (bluegreen.Environment, error) {
				// Launched by hand: another Compute, a deployment id no store knows.
				env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: revision("v0"), DeploymentID: "by-hand"}
				previous := w.compute(t, opts)
				if err := previous.ScaleUp(ctx, env); err != nil {
					return env, err
				}
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
					st, err := previous.Status(ctx, env)
					if err != nil || st.Ready() {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the hand-launched environment is not ready: %+v", st)
					}
				}
				zero, all := int64(0), int64(255)
				for _, r := range []awsfake.R53Record{
					{Name: "www.shop.example.com", Type: "CNAME", SetIdentifier: "blue", Weight: &all, TTL: &zero, Values: []string{records.A.CNAME}},
					{Name: "www.shop.example.com", Type: "CNAME", SetIdentifier: "green", Weight: &zero, TTL: &zero, Values: []string{records.B.CNAME}},
					{Name: "test.shop.example.com", Type: "CNAME", TTL: &zero, Values: []string{records.A.CNAME}},
				} {
					if err := dns.PutRecord(zone, r); err != nil {
						return env, err
					}
				}
				found, err := w.compute(t, opts).Discover(ctx, "web")
				if err != nil || len(found) != 1 {
					t.Fatalf("Discover = %+v, %v; want the hand-launched environment", found, err)
				}
				return found[0].Environment, nil
			},
			Revision: func() bluegreen.Revision { return revision("v1") },
			Configure: func(c *bluegreen.Config) {
				c.HealthInterval, c.VerifyInterval = 10*time.Millisecond, 10*time.Millisecond
			},
			Timeout: 30 * time.Second,
		}
	})
}
