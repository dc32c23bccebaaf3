package route53router

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
)

// API is the part of the Route 53 client the router uses; *route53.Client
// implements it.
type API interface {
	route53.ListResourceRecordSetsAPIClient
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, optFns ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

// Target is where a slot's record points: a CNAME value or an alias target.
// Set exactly one.
type Target struct {
	// CNAME is the domain name a CNAME record answers, such as
	// "web-a.us-east-1.elasticbeanstalk.com".
	CNAME string
	// Alias is the AWS resource an alias record points at (a load
	// balancer, a CloudFront distribution, an Elastic Beanstalk environment).
	Alias *Alias
}

// Alias is an alias target.
type Alias struct {
	// DNSName is the resource's DNS name, such as
	// "my-alb-123.us-east-1.elb.amazonaws.com".
	DNSName string
	// HostedZoneID is the hosted zone of the resource (not of your record):
	// the load balancer's canonical hosted zone, for example.
	HostedZoneID string
	// EvaluateTargetHealth makes Route 53 skip the record while the
	// resource is unhealthy.
	EvaluateTargetHealth bool
}

// Service says where one service's traffic is routed.
type Service struct {
	// HostedZoneID is the hosted zone that holds the records, such as
	// "Z0123456789ABCDEFGHIJ". Required.
	HostedZoneID string
	// Name is the production record name, such as "api.example.com".
	// Production traffic is routed by two weighted records of this name
	// and type, one per slot. Required.
	Name string
	// TestName is the test hostname, such as "api-test.example.com": a
	// simple record of that name points at the test slot. Optional; empty
	// routes no test traffic.
	TestName string
	// A and B are where slot A's and slot B's records point. Required; both
	// CNAMEs or both aliases, and different.
	A, B Target
	// AliasType is the record type of alias records: "A" (the default) or
	// "AAAA". CNAME targets are always CNAME records.
	AliasType string
	// SetIdentifierA and SetIdentifierB name the weighted records this
	// router creates for slot A and slot B; "<Name>-A" and "<Name>-B" if
	// empty. Records that exist already, found by the value they point at,
	// keep their own set identifiers.
	SetIdentifierA, SetIdentifierB string
	// TTL is the time to live, in seconds, of the CNAME records this router
	// creates when the service has none yet; 60 if zero. Records that exist
	// keep their TTL, and a record created beside them takes theirs.
	TTL int64
}

// Options configure a Router.
type Options struct {
	// Client is the Route 53 client, such as route53.NewFromConfig(cfg). Required.
	Client API
	// Services maps each service name to its records. Required.
	Services map[string]Service
	// AliasTTL is how long resolvers may cache the answer of an alias
	// record, which has no TTL of its own (Route 53 uses the target's):
	// Verify waits that long after a change of alias records is INSYNC. 60s
	// if zero.
	AliasTTL time.Duration
	// Logger receives a line for every change batch, with the weights; slog.Default if nil.
	Logger *slog.Logger
}

// Router is a bluegreen.Router and bluegreen.Verifier over Route 53
// weighted records. It is safe for concurrent use. It remembers, per
// service, the last routes it set and the change that set them, so that
// Verify can follow the change and Routes can report the 0.1% weights the
// records approximate (see Routes).
type Router struct {
	client   API
	services map[string]Service
	aliasTTL time.Duration
	log      *slog.Logger

	mu    sync.Mutex
	state map[string]*applied
}

// applied is what the router last set for a service.
type applied struct {
	routes   bluegreen.Routes
	changeID string        // "" when nothing had to change
	insync   time.Time     // when the change was seen INSYNC (or, with no change, first verified)
	ttl      time.Duration // the longest TTL of the records
}

var (
	_ bluegreen.Router     = (*Router)(nil)
	_ bluegreen.Verifier   = (*Router)(nil)
	_ bluegreen.ErrorCoder = (*Router)(nil)
)

// New returns a Router, or an error naming the first option that is wrong.
func New(opts Options) (*Router, error) {
	if opts.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "route53router.Options.Client", Problem: "nil", Fix: "pass route53.NewFromConfig(cfg)"}
	}
	if len(opts.Services) == 0 {
		return nil, &bluegreen.ConfigError{Field: "route53router.Options.Services", Problem: "empty", Fix: "add the hosted zone, record name and slot targets of each service"}
	}
	if opts.AliasTTL < 0 {
		return nil, &bluegreen.ConfigError{Field: "route53router.Options.AliasTTL", Problem: "negative", Fix: "leave it zero for 60s, or give the cache time of the alias targets"}
	}
	services := make(map[string]Service, len(opts.Services))
	for _, name := range slices.Sorted(maps.Keys(opts.Services)) {
		s, err := opts.Services[name].normalize("route53router.Options.Services[" + name + "]")
		if err != nil {
			return nil, err
		}
		services[name] = s
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ttl := opts.AliasTTL
	if ttl == 0 {
		ttl = time.Minute
	}
	return &Router{client: opts.Client, services: services, aliasTTL: ttl, log: log, state: map[string]*applied{}}, nil
}

func (s Service) normalize(field string) (Service, error) {
	bad := func(f, problem, fix string) (Service, error) {
		return Service{}, &bluegreen.ConfigError{Field: field + "." + f, Problem: problem, Fix: fix}
	}
	switch {
	case s.HostedZoneID == "":
		return bad("HostedZoneID", "empty", "give the ID of the hosted zone that holds the records")
	case s.Name == "":
		return bad("Name", "empty", `give the production record name, such as "api.example.com"`)
	case dnsEqual(s.Name, s.TestName):
		return bad("TestName", "same as Name", "use a separate test hostname, or leave TestName empty")
	}
	for _, t := range []struct {
		f string
		t Target
	}{{"A", s.A}, {"B", s.B}} {
		switch {
		case (t.t.CNAME == "") == (t.t.Alias == nil):
			return bad(t.f, "exactly one of CNAME and Alias must be set", "give the slot's CNAME value or its alias target")
		case t.t.Alias != nil && (t.t.Alias.DNSName == "" || t.t.Alias.HostedZoneID == ""):
			return bad(t.f+".Alias", "DNSName or HostedZoneID empty", "give the alias target's DNS name and its canonical hosted zone ID")
		}
	}
	switch {
	case (s.A.Alias == nil) != (s.B.Alias == nil):
		return bad("B", "one slot is a CNAME and the other an alias", "point both slots' records the same way")
	case s.A.key() == s.B.key():
		return bad("B", "same target as A", "each slot needs its own target")
	case s.AliasType != "" && s.AliasType != "A" && s.AliasType != "AAAA":
		return bad("AliasType", fmt.Sprintf("%q", s.AliasType), `use "A", "AAAA" or ""`)
	case s.AliasType != "" && s.A.Alias == nil:
		return bad("AliasType", "set for CNAME targets", "leave it empty: CNAME targets are CNAME records")
	case s.TTL < 0:
		return bad("TTL", "negative", "leave it zero for 60 seconds")
	}
	if s.A.Alias != nil && s.AliasType == "" {
		s.AliasType = "A"
	}
	if s.SetIdentifierA == "" {
		s.SetIdentifierA = strings.TrimSuffix(s.Name, ".") + "-A"
	}
	if s.SetIdentifierB == "" {
		s.SetIdentifierB = strings.TrimSuffix(s.Name, ".") + "-B"
	}
	if s.SetIdentifierA == s.SetIdentifierB {
		return bad("SetIdentifierB", "same as SetIdentifierA", "give each slot's record its own set identifier")
	}
	if s.TTL == 0 {
		s.TTL = 60
	}
	return s, nil
}

// recordType is the type of the service's records.
func (s Service) recordType() string {
	if s.A.Alias != nil {
		return s.AliasType
	}
	return "CNAME"
}

func (s Service) target(slot bluegreen.Slot) Target {
	if slot == bluegreen.SlotB {
		return s.B
	}
	return s.A
}

func (s Service) setIdentifier(slot bluegreen.Slot) string {
	if slot == bluegreen.SlotB {
		return s.SetIdentifierB
	}
	return s.SetIdentifierA
}

// key identifies a target for comparison: DNS names compare without case,
// trailing dot or the "dualstack." prefix Route 53 adds to load balancers.
func (t Target) key() string {
	if t.Alias != nil {
		return "alias " + dnsKey(strings.TrimPrefix(dnsKey(t.Alias.DNSName), "dualstack."))
	}
	return "cname " + dnsKey(t.CNAME)
}

func dnsKey(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

func dnsEqual(a, b string) bool { return dnsKey(a) == dnsKey(b) }

func (r *Router) service(name string) (Service, error) {
	s, ok := r.services[name]
	if !ok {
		return Service{}, &bluegreen.ConfigError{Field: "service", Problem: fmt.Sprintf("no records configured for service %q", name),
			Fix: "add it to route53router.Options.Services"}
	}
	return s, nil
}

// SetRoutes writes rt with one ChangeResourceRecordSets batch: the weight
// of each slot's weighted record (RecordWeights converts rt's 0.1% weights
// to 0–255) and the test record. Existing records keep everything but
// their weight (set identifier, TTL, health check, alias target); a simple
// record at the production name is replaced by the two weighted records in
// the same batch, its TTL and health check carried over. A batch that would
// change nothing is not sent. Routes with no production weights (nothing
// routed) delete the slots' records.
//
// SetRoutes refuses, changing nothing, when another record in the
// production name's weighted group has a weight above 0: it sends traffic
// to something that is neither slot.
func (r *Router) SetRoutes(ctx context.Context, service string, rt bluegreen.Routes) error {
	if err := rt.Validate(); err != nil {
		return err
	}
	s, err := r.service(service)
	if err != nil {
		return err
	}
	cur, err := r.read(ctx, s)
	if err != nil {
		return err
	}
	changes, err := s.changes(cur, rt)
	if err != nil {
		return err
	}
	st := &applied{routes: rt, ttl: r.ttl(s, cur)}
	if len(changes) > 0 {
		a, b := RecordWeights(rt.Production)
		out, err := r.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(s.HostedZoneID),
			ChangeBatch:  batch(fmt.Sprintf("bluegreen %s: %v", service, rt), changes),
		})
		if err != nil {
			return fmt.Errorf("route53router: ChangeResourceRecordSets for %s: %w", s.Name, err)
		}
		if out.ChangeInfo != nil {
			st.changeID = aws.ToString(out.ChangeInfo.Id)
		}
		r.log.InfoContext(ctx, "route53router: records changed", "service", service, "name", s.Name, "routes", rt.String(),
			"weightA", a, "weightB", b, "change", st.changeID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev := r.state[service]; len(changes) == 0 && prev != nil && prev.routes == rt {
		return nil // nothing changed: keep following the earlier change
	}
	r.state[service] = st
	return nil
}

// Routes reads the records and reports the routes in force: the share of
// each slot's weighted record (Share), or all traffic to the slot a simple
// record points at, and the slot the test record points at. When the
// records still hold exactly what this Router last wrote for the service,
// it reports the 0.1% weights it was asked for, which those records
// approximate (a 0.1% canary is carried as 1/256); after a restart, or
// once someone else changed the records, it reports their own share. A
// zone whose records were made by someone else is reported as they route.
func (r *Router) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	s, err := r.service(service)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	cur, err := r.read(ctx, s)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	r.mu.Lock()
	st := r.state[service]
	r.mu.Unlock()
	if st != nil && cur.matches(st.routes) {
		return st.routes, nil
	}
	return cur.routes()
}

// Verify reports whether rt is in force for every resolver: the change
// that set it is INSYNC on Route 53's name servers (GetChange) and then the
// records' TTL (for alias records, Options.AliasTTL) has passed, so that no
// resolver still caches the earlier answer. Verify answers false, without
// an error, until both hold: set the Deployer's VerifyTimeout above the
// records' TTL plus Route 53's propagation time (usually under a minute).
// For routes this Router did not set itself (after a restart), Verify
// reads the records and, if they match, waits one TTL from then.
func (r *Router) Verify(ctx context.Context, service string, rt bluegreen.Routes) (bool, error) {
	s, err := r.service(service)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	st := r.state[service]
	var change string
	known := st != nil && st.routes == rt
	if known && st.insync.IsZero() {
		change = st.changeID
	}
	r.mu.Unlock()
	if !known {
		cur, err := r.read(ctx, s)
		if err != nil {
			return false, err
		}
		if !cur.matches(rt) {
			return false, nil
		}
		st = &applied{routes: rt, insync: time.Now(), ttl: r.ttl(s, cur)}
		r.mu.Lock()
		r.state[service] = st
		r.mu.Unlock()
		return st.ttl == 0, nil
	}
	if change != "" {
		out, err := r.client.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(change)})
		if err != nil {
			return false, fmt.Errorf("route53router: GetChange %s: %w", change, err)
		}
		if out.ChangeInfo == nil || out.ChangeInfo.Status != "INSYNC" {
			return false, nil
		}
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.state[service]; cur != st {
		return false, nil // SetRoutes ran meanwhile
	}
	if st.insync.IsZero() {
		st.insync = now
		r.log.InfoContext(ctx, "route53router: change in sync; waiting for the TTL", "service", service, "change", st.changeID, "ttl", st.ttl)
	}
	return !now.Before(st.insync.Add(st.ttl)), nil
}

// ttl returns the longest time a resolver may cache an answer of the
// service's records.
func (r *Router) ttl(s Service, cur current) time.Duration {
	if s.A.Alias != nil {
		return r.aliasTTL
	}
	// The records before the change (deleted ones are still cached) and
	// after it, which keep their TTL or, when new, take one of theirs or
	// Service.TTL.
	longest := int64(-1)
	for _, rec := range cur.all() {
		if rec.TTL != nil {
			longest = max(longest, *rec.TTL)
		}
	}
	if longest < 0 {
		longest = s.TTL
	}
	return time.Duration(longest) * time.Second
}
