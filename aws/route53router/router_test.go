package route53router_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

const (
	propagation = 20 * time.Second
	ttl         = 60
)

// env is a Route 53 fake served in process (for testing/synctest), a real
// client reaching it, a hosted zone, and the router.
type env struct {
	fake   *awsfake.Route53
	client *route53.Client
	zone   string
}

func newEnv() *env { return newEnvDelay(propagation) }

func newEnvDelay(d time.Duration) *env {
	fake := awsfake.NewRoute53(awsfake.Route53Options{PropagationDelay: d})
	e := &env{fake: fake, client: route53.NewFromConfig(awsfake.InProcessConfig(fake))}
	e.zone = fake.CreateHostedZone("example.com")
	return e
}

// service returns the records of a service named name: CNAMEs to two
// Elastic Beanstalk environments, and a test hostname.
func (e *env) service(name string) route53router.Service {
	return route53router.Service{HostedZoneID: e.zone, Name: name + ".example.com", TestName: name + "-test.example.com",
		A: route53router.Target{CNAME: name + "-a.us-east-1.elasticbeanstalk.com"}, B: route53router.Target{CNAME: name + "-b.us-east-1.elasticbeanstalk.com"}, TTL: ttl}
}

func (e *env) put(t *testing.T, rec awsfake.R53Record) {
	t.Helper()
	if err := e.fake.PutRecord(e.zone, rec); err != nil {
		t.Fatal(err)
	}
}

func (e *env) router(t *testing.T, services map[string]route53router.Service) *route53router.Router {
	t.Helper()
	r, err := route53router.New(route53router.Options{Client: e.client, Services: services, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConformance runs bluegreentest.TestRouter, whose subtests cannot run
// inside a testing/synctest bubble, in real time: the zone starts with
// records of TTL 0 routing everything to slot A (records the router keeps,
// and whose TTL the records it creates take), and changes are INSYNC
// after 10ms. TestVerifyWaitsForSyncAndTTL checks the waits at their real
// length in virtual time.
func TestConformance(t *testing.T) {
	t.Parallel()
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		e := newEnvDelay(10 * time.Millisecond)
		services := map[string]route53router.Service{}
		for _, name := range []string{"web", "api"} {
			s := e.service(name)
			e.put(t, awsfake.R53Record{Name: s.Name, Type: "CNAME", SetIdentifier: "blue", Weight: ptr[int64](255), TTL: ptr[int64](0), Values: []string{s.A.CNAME}})
			e.put(t, awsfake.R53Record{Name: s.TestName, Type: "CNAME", TTL: ptr[int64](0), Values: []string{s.A.CNAME}})
			services[name] = s
		}
		return bluegreentest.RouterHarness{Router: e.router(t, services), Services: []string{"web", "api"},
			Initial:       bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA},
			VerifyTimeout: 10 * time.Second, PollInterval: 5 * time.Millisecond}
	})
}

// TestConformanceAlias runs the suite over weighted alias records, which
// have no TTL: AliasTTL stands for the targets' cache time.
func TestConformanceAlias(t *testing.T) {
	t.Parallel()
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		e := newEnvDelay(10 * time.Millisecond)
		alias := func(name string) route53router.Target {
			return route53router.Target{Alias: &route53router.Alias{DNSName: name + ".us-east-1.elb.amazonaws.com", HostedZoneID: "Z35SXDOTRQ7X7K", EvaluateTargetHealth: true}}
		}
		s := route53router.Service{HostedZoneID: e.zone, Name: "web.example.com", TestName: "web-test.example.com", A: alias("web-a"), B: alias("web-b")}
		r, err := route53router.New(route53router.Options{Client: e.client, Services: map[string]route53router.Service{"web": s},
			AliasTTL: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return bluegreentest.RouterHarness{Router: r, Services: []string{"web"}, VerifyTimeout: 10 * time.Second, PollInterval: 5 * time.Millisecond}
	})
}

// TestVerifyWaitsForSyncAndTTL checks the barrier: false while the change
// is PENDING, false until the TTL has passed since it was seen INSYNC, then true.
func TestVerifyWaitsForSyncAndTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv()
		r := e.router(t, map[string]route53router.Service{"web": e.service("web")})
		ctx := t.Context()
		rt := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}
		start := time.Now()
		if err := r.SetRoutes(ctx, "web", rt); err != nil {
			t.Fatal(err)
		}
		var trueAt time.Duration
		for i := 0; i < 200 && trueAt == 0; i++ {
			ok, err := r.Verify(ctx, "web", rt)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				trueAt = time.Since(start)
				break
			}
			time.Sleep(time.Second)
		}
		// INSYNC after 20s (seen at the first poll from then), then 60s of TTL.
		if want := propagation + ttl*time.Second; trueAt != want {
			t.Errorf("Verify first true after %v, want %v (propagation + TTL)", trueAt, want)
		}
		calls := e.fake.Faults.Calls()
		if got, want := calls["GetChange"], int(propagation/time.Second)+1; got != want {
			t.Errorf("GetChange calls = %d, want %d (one per poll until INSYNC, none while the TTL passes)", got, want)
		}
		if calls["ChangeResourceRecordSets"] != 1 {
			t.Errorf("ChangeResourceRecordSets calls = %d, want 1 (production and test in one batch)", calls["ChangeResourceRecordSets"])
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestBrownfield starts from records someone else made: weighted records
// with their own set identifiers, TTL and health check, and a simple
// record. Routes reports what they route, and SetRoutes keeps their other fields.
func TestBrownfield(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		e := newEnv()
		s := e.service("web")
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(e.fake.PutRecord(e.zone, awsfake.R53Record{Name: "web.example.com", Type: "CNAME", SetIdentifier: "blue",
			Weight: ptr[int64](3), TTL: ptr[int64](300), Values: []string{"web-a.us-east-1.elasticbeanstalk.com"}, HealthCheckID: "hc-blue"}))
		must(e.fake.PutRecord(e.zone, awsfake.R53Record{Name: "web.example.com", Type: "CNAME", SetIdentifier: "green",
			Weight: ptr[int64](1), TTL: ptr[int64](300), Values: []string{"WEB-B.us-east-1.elasticbeanstalk.com."}}))
		r := e.router(t, map[string]route53router.Service{"web": s})
		got, err := r.Routes(ctx, "web")
		must(err)
		if want := (bluegreen.Routes{Production: bluegreen.Weights{A: 750, B: 250}}); got != want {
			t.Errorf("Routes of the brownfield zone = %v, want %v", got, want)
		}
		rt := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}
		must(r.SetRoutes(ctx, "web", rt))
		blue, _ := e.fake.Record(e.zone, "web.example.com", "CNAME", "blue")
		want := awsfake.R53Record{Name: "web.example.com.", Type: "CNAME", SetIdentifier: "blue", Weight: ptr[int64](0), TTL: ptr[int64](300),
			Values: []string{"web-a.us-east-1.elasticbeanstalk.com"}, HealthCheckID: "hc-blue"}
		if diff := cmp.Diff(want, blue); diff != "" {
			t.Errorf("blue's record after SetRoutes (-want +got):\n%s", diff)
		}
		test, ok := e.fake.Record(e.zone, "web-test.example.com", "CNAME", "")
		if !ok || test.Values[0] != s.B.CNAME || *test.TTL != 300 {
			t.Errorf("test record = %+v, %v; want a CNAME to slot B with the production records' TTL 300", test, ok)
		}
		// Verify after 300s: the brownfield records' TTL, not the configured 60s.
		start := time.Now()
		for i := 0; i < 1000; i++ {
			ok, err := r.Verify(ctx, "web", rt)
			must(err)
			if ok {
				break
			}
			time.Sleep(time.Second)
		}
		if waited := time.Since(start); waited != propagation+300*time.Second {
			t.Errorf("Verify waited %v, want propagation + the records' 300s TTL", waited)
		}

		// A simple record pointing at slot A is all traffic to A; a shift
		// replaces it by two weighted records in one batch, keeping its TTL
		// and health check on A's record.
		e2 := newEnv()
		s2 := e2.service("api")
		must(e2.fake.PutRecord(e2.zone, awsfake.R53Record{Name: "api.example.com", Type: "CNAME", TTL: ptr[int64](30),
			Values: []string{s2.A.CNAME}, HealthCheckID: "hc-a"}))
		r2 := e2.router(t, map[string]route53router.Service{"api": s2})
		got, err = r2.Routes(ctx, "api")
		must(err)
		if want := (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); got != want {
			t.Errorf("Routes with a simple record = %v, want %v", got, want)
		}
		half := bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 500}}
		must(r2.SetRoutes(ctx, "api", half))
		wantRecords := []awsfake.R53Record{
			{Name: "api.example.com.", Type: "CNAME", SetIdentifier: "api.example.com-A", Weight: ptr[int64](255), TTL: ptr[int64](30), Values: []string{s2.A.CNAME}, HealthCheckID: "hc-a"},
			{Name: "api.example.com.", Type: "CNAME", SetIdentifier: "api.example.com-B", Weight: ptr[int64](255), TTL: ptr[int64](30), Values: []string{s2.B.CNAME}},
		}
		if diff := cmp.Diff(wantRecords, e2.fake.Records(e2.zone)); diff != "" {
			t.Errorf("records after the first shift (-want +got):\n%s", diff)
		}
		if n := e2.fake.Faults.Calls()["ChangeResourceRecordSets"]; n != 1 {
			t.Errorf("ChangeResourceRecordSets calls = %d, want 1", n)
		}
	})
}

// TestRefusesForeignRecords: a weighted record of the group that sends
// traffic elsewhere makes Routes and SetRoutes fail with
// CodeFailedPrecondition, changing nothing.
func TestRefusesForeignRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		e := newEnv()
		s := e.service("web")
		if err := e.fake.PutRecord(e.zone, awsfake.R53Record{Name: s.Name, Type: "CNAME", SetIdentifier: "legacy",
			Weight: ptr[int64](10), TTL: ptr[int64](60), Values: []string{"legacy.example.net"}}); err != nil {
			t.Fatal(err)
		}
		r := e.router(t, map[string]route53router.Service{"web": s})
		if _, err := r.Routes(ctx, "web"); bluegreen.ErrorCode(err) != bluegreen.CodeFailedPrecondition {
			t.Errorf("Routes = %v, want CodeFailedPrecondition", err)
		}
		err := r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
		if bluegreen.ErrorCode(err) != bluegreen.CodeFailedPrecondition {
			t.Errorf("SetRoutes = %v, want CodeFailedPrecondition", err)
		}
		if n := e.fake.Faults.Calls()["ChangeResourceRecordSets"]; n != 0 {
			t.Errorf("ChangeResourceRecordSets called %d times, want 0", n)
		}
	})
}

// TestFaults: throttling and 5xx answers are retried by the SDK; a change
// batch refused because the records changed meanwhile is CodeConflict.
func TestFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		e := newEnv()
		r := e.router(t, map[string]route53router.Service{"web": e.service("web")})
		e.fake.Faults.Add(awsfake.Rule{Op: "ChangeResourceRecordSets", Fault: awsfake.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}, Times: 2})
		e.fake.Faults.Add(awsfake.Rule{Op: "ListResourceRecordSets", Fault: awsfake.InternalError(), Times: 1})
		rt := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}
		if err := r.SetRoutes(ctx, "web", rt); err != nil {
			t.Fatalf("SetRoutes with retried faults: %v", err)
		}
		if got, err := r.Routes(ctx, "web"); err != nil || got != rt {
			t.Errorf("Routes = %v, %v; want %v", got, err, rt)
		}
		e.fake.Faults.Add(awsfake.Rule{Op: "ChangeResourceRecordSets", Fault: awsfake.Fault{Status: 400, Code: "NoSuchHostedZone", Message: "gone"}})
		err := r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)})
		if code := r.ErrorCode(err); code != bluegreen.CodeNotFound {
			t.Errorf("ErrorCode(%v) = %v, want CodeNotFound", err, code)
		}
		var apiErr interface{ ErrorCode() string }
		if !errors.As(err, &apiErr) {
			t.Errorf("SetRoutes error %v does not carry the API error", err)
		}
	})
}

// TestInvalidChangeBatchIsConflict: when someone changes a record between
// the router's read and its batch, Route 53 refuses the batch and the error is CodeConflict.
func TestInvalidChangeBatchIsConflict(t *testing.T) {
	e := newEnv()
	s := e.service("web")
	_, err := e.client.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(e.zone),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionDelete, ResourceRecordSet: &types.ResourceRecordSet{
			Name: aws.String(s.Name), Type: types.RRTypeCname, SetIdentifier: aws.String("gone"), Weight: aws.Int64(1), TTL: aws.Int64(60),
			ResourceRecords: []types.ResourceRecord{{Value: aws.String(s.A.CNAME)}}}}}},
	})
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) || len(icb.Messages) != 1 || !strings.Contains(icb.Messages[0], "not found") {
		t.Errorf("DELETE of a missing record = %v, want InvalidChangeBatch saying it was not found", err)
	}
	r := e.router(t, map[string]route53router.Service{"web": s})
	if code := r.ErrorCode(err); code != bluegreen.CodeConflict {
		t.Errorf("ErrorCode(%v) = %v, want CodeConflict", err, code)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	e := newEnv()
	good := e.service("web")
	tests := []struct {
		name  string
		edit  func(*route53router.Service)
		field string
	}{
		{"NoZone", func(s *route53router.Service) { s.HostedZoneID = "" }, "HostedZoneID"},
		{"NoName", func(s *route53router.Service) { s.Name = "" }, "Name"},
		{"TestIsProduction", func(s *route53router.Service) { s.TestName = "WEB.example.com." }, "TestName"},
		{"NoTarget", func(s *route53router.Service) { s.A = route53router.Target{} }, "A"},
		{"SameTargets", func(s *route53router.Service) { s.B = s.A }, "B"},
		{"Mixed", func(s *route53router.Service) {
			s.B = route53router.Target{Alias: &route53router.Alias{DNSName: "x.elb.amazonaws.com", HostedZoneID: "Z1"}}
		}, "B"},
		{"AliasTypeForCNAME", func(s *route53router.Service) { s.AliasType = "A" }, "AliasType"},
		{"SameSetIdentifiers", func(s *route53router.Service) { s.SetIdentifierA, s.SetIdentifierB = "x", "x" }, "SetIdentifierB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.edit(&s)
			_, err := route53router.New(route53router.Options{Client: e.client, Services: map[string]route53router.Service{"web": s}})
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != "route53router.Options.Services[web]."+tt.field {
				t.Errorf("New = %v, want a ConfigError for field %s", err, tt.field)
			}
		})
	}
}
