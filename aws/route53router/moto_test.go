package route53router_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
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

// TestAgainstMoto checks the router's Route 53 calls against moto's Route
// 53, a second opinion on the wire shapes (the REST-XML bodies of
// ListResourceRecordSets, ChangeResourceRecordSets and GetChange), with
// one moto server for its subtests. moto reports every change INSYNC at
// once, so the waits for propagation are not exercised here
// (TestVerifyWaitsForSyncAndTTL does that against the in-process fake).
func TestAgainstMoto(t *testing.T) {
	base := awsfake.StartMoto(t)
	client := route53.NewFromConfig(awsfake.Config(base))
	t.Run("Records", func(t *testing.T) { recordsAgainstMoto(t, client) })
	t.Run("Conformance", func(t *testing.T) { conformanceAgainstMoto(t, client) })
}

// motoZone creates a hosted zone named name in moto and returns its ID.
func motoZone(t *testing.T, client *route53.Client, name string) string {
	t.Helper()
	out, err := client.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{Name: aws.String(name),
		CallerReference: aws.String(fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))})
	if err != nil {
		t.Fatalf("CreateHostedZone %s: %v", name, err)
	}
	return aws.ToString(out.HostedZone.Id)
}

// motoRecord is what the test compares of a record read back from moto.
type motoRecord struct {
	SetIdentifier string
	Weight        int64
	TTL           int64
	Value         string
}

// motoRecords lists the records of name and type in zone, as moto holds them.
func motoRecords(t *testing.T, client *route53.Client, zone, name string) map[string]motoRecord {
	t.Helper()
	out, err := client.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone),
		StartRecordName: aws.String(name), StartRecordType: types.RRTypeCname})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]motoRecord{}
	for _, rec := range out.ResourceRecordSets {
		if strings.TrimSuffix(aws.ToString(rec.Name), ".") != name || rec.Type != types.RRTypeCname {
			continue
		}
		m := motoRecord{SetIdentifier: aws.ToString(rec.SetIdentifier), Weight: -1, TTL: aws.ToInt64(rec.TTL)}
		if rec.Weight != nil {
			m.Weight = *rec.Weight
		}
		if len(rec.ResourceRecords) == 1 {
			m.Value = aws.ToString(rec.ResourceRecords[0].Value)
		}
		got[m.SetIdentifier] = m
	}
	return got
}

// insyncLog counts the router's "change in sync" lines: how Verify's
// reading of GetChange's INSYNC is seen while the TTL still runs.
type insyncLog struct {
	mu sync.Mutex
	n  int
}

func (l *insyncLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *insyncLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "in sync") {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return nil
}
func (l *insyncLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *insyncLog) WithGroup(string) slog.Handler      { return l }

func (l *insyncLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// recordsAgainstMoto adopts records made by hand (a weighted record of
// slot A with its own set identifier and TTL), shifts traffic all at once,
// by a split and back, and checks after each step the weights, set
// identifiers and TTLs moto holds, the routes Routes reads back, and that
// Verify follows the change to INSYNC with GetChange.
func recordsAgainstMoto(t *testing.T, client *route53.Client) {
	ctx := context.Background()
	zone := motoZone(t, client, "example.com")
	// Two services: "web" with records of TTL 0, so that Verify is true as
	// soon as the change is INSYNC; "api" with records of TTL 300, kept by
	// every change, whose Verify sees INSYNC and then waits for the TTL.
	const aWeb, bWeb = "web-a.us-east-1.elasticbeanstalk.com", "web-b.us-east-1.elasticbeanstalk.com"
	const aAPI, bAPI = "api-a.us-east-1.elasticbeanstalk.com", "api-b.us-east-1.elasticbeanstalk.com"
	services := map[string]route53router.Service{
		"web": {HostedZoneID: zone, Name: "web.example.com", TestName: "web-test.example.com",
			A: route53router.Target{CNAME: aWeb}, B: route53router.Target{CNAME: bWeb}},
		"api": {HostedZoneID: zone, Name: "api.example.com", TestName: "api-test.example.com",
			A: route53router.Target{CNAME: aAPI}, B: route53router.Target{CNAME: bAPI}, SetIdentifierB: "api-green", TTL: 30},
	}
	ttls := map[string]int64{"web": 0, "api": 300}
	for name, s := range services {
		_, err := client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
			ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{
				Name: aws.String(s.Name), Type: types.RRTypeCname, SetIdentifier: aws.String("blue"), Weight: aws.Int64(255),
				TTL: aws.Int64(ttls[name]), ResourceRecords: []types.ResourceRecord{{Value: aws.String(s.A.CNAME)}}}}}}})
		if err != nil {
			t.Fatalf("create %s's record by hand: %v", name, err)
		}
	}
	log := &insyncLog{}
	r, err := route53router.New(route53router.Options{Client: client, Services: services, Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	for name := range services {
		got, err := r.Routes(ctx, name)
		if err != nil {
			t.Fatalf("Routes(%s) of the records made by hand: %v", name, err)
		}
		if want := (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); got != want {
			t.Errorf("Routes(%s) of the records made by hand = %v, want %v", name, got, want)
		}
	}

	// The web steps. Slot B's record is created with the default set
	// identifier "<Name>-B" and the TTL of the record that exists.
	steps := []struct {
		name   string
		routes bluegreen.Routes
		// records are web's production records: weights by RecordWeights.
		weightA, weightB int64
	}{
		{"canary 0.1% to B", bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}, 255, 1},
		{"split 50/50", bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 500}, Test: bluegreen.SlotB}, 255, 255},
		{"split 10% to B", bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}, 252, 28},
		{"all at once to B", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}, 0, 255},
		{"back to A", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}, 255, 0},
	}
	for _, step := range steps {
		if err := r.SetRoutes(ctx, "web", step.routes); err != nil {
			t.Fatalf("%s: SetRoutes: %v", step.name, err)
		}
		want := map[string]motoRecord{
			"blue":              {SetIdentifier: "blue", Weight: step.weightA, Value: aWeb},
			"web.example.com-B": {SetIdentifier: "web.example.com-B", Weight: step.weightB, Value: bWeb},
		}
		if diff := cmp.Diff(want, motoRecords(t, client, zone, "web.example.com")); diff != "" {
			t.Errorf("%s: web's production records in moto (-want +got):\n%s", step.name, diff)
		}
		testRec := motoRecords(t, client, zone, "web-test.example.com")
		wantTest := map[string]motoRecord{"": {Weight: -1, Value: map[bluegreen.Slot]string{bluegreen.SlotA: aWeb, bluegreen.SlotB: bWeb}[step.routes.Test]}}
		if diff := cmp.Diff(wantTest, testRec); diff != "" {
			t.Errorf("%s: web's test record in moto (-want +got):\n%s", step.name, diff)
		}
		got, err := r.Routes(ctx, "web")
		if err != nil {
			t.Fatalf("%s: Routes: %v", step.name, err)
		}
		if got != step.routes {
			t.Errorf("%s: Routes = %v, want %v", step.name, got, step.routes)
		}
		ok, err := r.Verify(ctx, "web", step.routes)
		if err != nil || !ok {
			t.Errorf("%s: Verify = %v, %v; want true: moto's GetChange answers INSYNC and the records' TTL is 0", step.name, ok, err)
		}
	}

	// A 0.1% canary is carried as weights 255 and 1: the router that set
	// it reports 0.1%, a fresh one (a restart) the records' share, 1/256.
	canary := bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}
	if err := r.SetRoutes(ctx, "web", canary); err != nil {
		t.Fatal(err)
	}
	fresh, err := route53router.New(route53router.Options{Client: client, Services: services, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fresh.Routes(ctx, "web")
	if want := (bluegreen.Routes{Production: bluegreen.Weights{A: 996, B: 4}, Test: bluegreen.SlotB}); err != nil || got != want {
		t.Errorf("Routes of a 0.1%% canary after a restart = %v, %v; want the records' share %v", got, err, want)
	}

	// api: every record keeps the TTL 300 of the record made by hand (not
	// Service.TTL), slot B's takes its configured set identifier, and
	// Verify sees the change INSYNC, then waits for the TTL.
	apiSplit := bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 500}, Test: bluegreen.SlotB}
	if err := r.SetRoutes(ctx, "api", apiSplit); err != nil {
		t.Fatal(err)
	}
	want := map[string]motoRecord{
		"blue":      {SetIdentifier: "blue", Weight: 255, TTL: 300, Value: aAPI},
		"api-green": {SetIdentifier: "api-green", Weight: 255, TTL: 300, Value: bAPI},
	}
	if diff := cmp.Diff(want, motoRecords(t, client, zone, "api.example.com")); diff != "" {
		t.Errorf("api's production records in moto (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]motoRecord{"": {Weight: -1, TTL: 300, Value: bAPI}}, motoRecords(t, client, zone, "api-test.example.com")); diff != "" {
		t.Errorf("api's test record in moto (-want +got):\n%s", diff)
	}
	before := log.count()
	ok, err := r.Verify(ctx, "api", apiSplit)
	if err != nil || ok {
		t.Errorf("Verify(api) right after the change = %v, %v; want false: the records' 300s TTL has not passed", ok, err)
	}
	if log.count() != before+1 {
		t.Errorf("Verify(api) did not see the change INSYNC (moto's GetChange answers INSYNC at once)")
	}
	got, err = r.Routes(ctx, "api")
	if err != nil || got != apiSplit {
		t.Errorf("Routes(api) = %v, %v; want %v", got, err, apiSplit)
	}

	// Nothing routed deletes the slots' records and the test record.
	if err := r.SetRoutes(ctx, "web", bluegreen.Routes{}); err != nil {
		t.Fatal(err)
	}
	if got := motoRecords(t, client, zone, "web.example.com"); len(got) != 0 {
		t.Errorf("web's production records after routing nothing = %v, want none", got)
	}
	if got := motoRecords(t, client, zone, "web-test.example.com"); len(got) != 0 {
		t.Errorf("web's test record after routing nothing = %v, want none", got)
	}
}

// conformanceAgainstMoto runs bluegreentest.TestRouter over records in
// moto: each harness gets a zone of its own whose records (TTL 0) route
// everything to slot A, made by hand.
func conformanceAgainstMoto(t *testing.T, client *route53.Client) {
	n := 0
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		n++
		zone := motoZone(t, client, fmt.Sprintf("conf%d.example.com", n))
		services := map[string]route53router.Service{}
		for _, name := range []string{"web", "api"} {
			host := fmt.Sprintf("%s.conf%d.example.com", name, n)
			s := route53router.Service{HostedZoneID: zone, Name: host, TestName: "test-" + host,
				A: route53router.Target{CNAME: name + "-a.us-east-1.elasticbeanstalk.com"}, B: route53router.Target{CNAME: name + "-b.us-east-1.elasticbeanstalk.com"}}
			var changes []types.Change
			for _, rec := range []types.ResourceRecordSet{
				{Name: aws.String(s.Name), Type: types.RRTypeCname, SetIdentifier: aws.String("blue"), Weight: aws.Int64(255), TTL: aws.Int64(0)},
				{Name: aws.String(s.TestName), Type: types.RRTypeCname, TTL: aws.Int64(0)},
			} {
				rec.ResourceRecords = []types.ResourceRecord{{Value: aws.String(s.A.CNAME)}}
				changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &rec})
			}
			if _, err := client.ChangeResourceRecordSets(context.Background(), &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
				ChangeBatch: &types.ChangeBatch{Changes: changes}}); err != nil {
				t.Fatal(err)
			}
			services[name] = s
		}
		r, err := route53router.New(route53router.Options{Client: client, Services: services, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return bluegreentest.RouterHarness{Router: r, Services: []string{"web", "api"},
			Initial:       bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA},
			VerifyTimeout: 5 * time.Second, PollInterval: 10 * time.Millisecond}
	})
}
