package elbrouter

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
)

// API is the part of the ELBv2 client the router uses; *elbv2.Client
// implements it.
type API interface {
	elbv2.DescribeRulesAPIClient
	elbv2.DescribeListenersAPIClient
	ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
	ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
}

// Service says where one service's traffic is routed.
type Service struct {
	// ProductionRuleARN is the listener rule production traffic matches.
	// Set it or ProductionListenerARN.
	ProductionRuleARN string
	// ProductionListenerARN is a listener whose default action routes
	// production traffic, when there is no rule for it.
	ProductionListenerARN string
	// TestRuleARN is the rule test traffic matches (a header-condition rule,
	// say). Optional; set at most one of TestRuleARN and TestListenerARN.
	TestRuleARN string
	// TestListenerARN is a test listener whose default action routes test
	// traffic. Optional.
	TestListenerARN string
	// TargetGroupA and TargetGroupB are the ARNs of the target groups of
	// slot A and slot B. Required, and different.
	TargetGroupA, TargetGroupB string
}

// Options configure a Router.
type Options struct {
	// Client is the ELBv2 client, such as elbv2.NewFromConfig(cfg). Required.
	Client API
	// Services maps each service name to its routes. Required.
	Services map[string]Service
	// Logger receives a line for every rule or listener changed, with the
	// target group names and weights; slog.Default if nil.
	Logger *slog.Logger
	// VerifyFromWrite is how long after SetRoutes wrote a service's rules
	// the next Verify of that service trusts ELBv2's answers to the writes
	// (ModifyRule and ModifyListener return the rule or listener as
	// stored) instead of reading the rules again: one DescribeRules call
	// per traffic change instead of two. 10 s if 0; a negative value makes
	// every Verify read. Only the Verify right after a write uses them;
	// SetRoutes always reads before it writes.
	VerifyFromWrite time.Duration
	// SeparateReads makes every read of a service's rules its own
	// DescribeRules call (and DescribeListeners call), made with the
	// caller's context. By default, reads of different services that
	// overlap share calls: one batch of calls runs at a time, for the
	// union of the rule (or listener) ARNs of the reads waiting for it, at
	// most 20 ARNs a call; reads that arrive while it runs share the next.
	// The shared calls use a context of their own, stopped when every read
	// waiting for them has given up (or after 2 minutes). Each read gets
	// only its own rules; when a shared call fails, each read it served
	// makes its own call, so that one service's deleted rule fails that
	// service's read alone.
	SeparateReads bool
}

// Router is a bluegreen.Router and bluegreen.Verifier over ELBv2 listener
// rules. It is safe for concurrent use; it keeps no state besides its options,
// the rules its latest writes left (see Options.VerifyFromWrite) and the
// reads it is sharing (see Options.SeparateReads).
type Router struct {
	client          API
	services        map[string]Service
	log             *slog.Logger
	verifyFromWrite time.Duration

	// rules and listeners share the reads of concurrent callers; nil
	// with Options.SeparateReads.
	rules, listeners *coalescer

	mu      sync.Mutex
	written map[string]written // by service
}

var (
	_ bluegreen.Router     = (*Router)(nil)
	_ bluegreen.Verifier   = (*Router)(nil)
	_ bluegreen.ErrorCoder = (*Router)(nil)
)

// New returns a Router, or an error naming the first option that is wrong.
func New(opts Options) (*Router, error) {
	if opts.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "elbrouter.Options.Client", Problem: "nil", Fix: "pass elasticloadbalancingv2.NewFromConfig(cfg)"}
	}
	if len(opts.Services) == 0 {
		return nil, &bluegreen.ConfigError{Field: "elbrouter.Options.Services", Problem: "empty", Fix: "add the listener rules and target groups of each service"}
	}
	services := make(map[string]Service, len(opts.Services))
	for _, name := range slices.Sorted(maps.Keys(opts.Services)) {
		s := opts.Services[name]
		if err := s.validate("elbrouter.Options.Services[" + name + "]"); err != nil {
			return nil, err
		}
		services[name] = s
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.VerifyFromWrite == 0 {
		opts.VerifyFromWrite = 10 * time.Second
	}
	r := &Router{client: opts.Client, services: services, log: log, verifyFromWrite: opts.VerifyFromWrite, written: map[string]written{}}
	if !opts.SeparateReads {
		r.rules = &coalescer{describe: r.describeRules}
		r.listeners = &coalescer{describe: r.describeListeners}
	}
	return r, nil
}

func (s Service) validate(field string) error {
	switch {
	case (s.ProductionRuleARN == "") == (s.ProductionListenerARN == ""):
		return &bluegreen.ConfigError{Field: field + ".ProductionRuleARN", Problem: "exactly one of ProductionRuleARN and ProductionListenerARN must be set",
			Fix: "name the production listener rule, or the listener whose default action serves production"}
	case s.TestRuleARN != "" && s.TestListenerARN != "":
		return &bluegreen.ConfigError{Field: field + ".TestRuleARN", Problem: "both TestRuleARN and TestListenerARN are set", Fix: "set at most one"}
	case s.TargetGroupA == "":
		return &bluegreen.ConfigError{Field: field + ".TargetGroupA", Problem: "empty", Fix: "give the ARN of slot A's target group"}
	case s.TargetGroupB == "":
		return &bluegreen.ConfigError{Field: field + ".TargetGroupB", Problem: "empty", Fix: "give the ARN of slot B's target group"}
	case s.TargetGroupA == s.TargetGroupB:
		return &bluegreen.ConfigError{Field: field + ".TargetGroupB", Problem: "same target group as TargetGroupA", Fix: "each slot needs its own target group"}
	}
	return nil
}

func (r *Router) service(name string) (Service, error) {
	s, ok := r.services[name]
	if !ok {
		return Service{}, &bluegreen.ConfigError{Field: "service", Problem: fmt.Sprintf("no routes configured for service %q", name),
			Fix: "add it to elbrouter.Options.Services"}
	}
	return s, nil
}

// SetRoutes points the production route at both target groups with rt's
// weights and the test route at the test slot's target group, changing
// nothing else in the rules. A route already as rt wants it is not written.
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
	// Refuse to rewrite a route that forwards to a target group of neither
	// slot: dropping it could cut off traffic someone else routed.
	if _, err := s.routes(cur); err != nil {
		return err
	}
	r.forget(service)
	var after current
	prodAfter, prodOK, err := r.write(ctx, service, "production", cur.prod, s.production(rt.Production))
	if err != nil {
		return err
	}
	after.prod = prodAfter
	testOK := true
	if cur.test != nil {
		var t route
		if t, testOK, err = r.write(ctx, service, "test", *cur.test, s.test(rt)); err != nil {
			return err
		}
		after.test = &t
	}
	if prodOK && testOK {
		r.remember(service, after)
	}
	return nil
}

// written is what the router's latest SetRoutes of a service left, as
// ELBv2 answered its writes.
type written struct {
	cur current
	at  time.Time
}

// remember keeps what SetRoutes wrote for the Verify that follows it.
func (r *Router) remember(service string, cur current) {
	r.mu.Lock()
	r.written[service] = written{cur: cur, at: time.Now()}
	r.mu.Unlock()
}

// forget drops what SetRoutes wrote.
func (r *Router) forget(service string) {
	r.mu.Lock()
	delete(r.written, service)
	r.mu.Unlock()
}

// takeWritten returns, once, what the latest SetRoutes of service wrote if
// it did so less than VerifyFromWrite ago.
func (r *Router) takeWritten(service string) (current, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.written[service]
	delete(r.written, service)
	if !ok || r.verifyFromWrite <= 0 || time.Since(w.at) >= r.verifyFromWrite {
		return current{}, false
	}
	return w.cur, true
}

// Routes reads the routes back from the rules.
func (r *Router) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	s, err := r.service(service)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	cur, err := r.read(ctx, s)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	return s.routes(cur)
}

// Verify reports whether the rules route as rt says. Right after SetRoutes
// wrote them (within Options.VerifyFromWrite), it checks ELBv2's answers to
// those writes, the rules as stored; otherwise it reads the rules again.
// ELBv2 applies a rule change to its own reads at once; Verify guards
// against a concurrent writer and makes the Deployer's check explicit.
func (r *Router) Verify(ctx context.Context, service string, rt bluegreen.Routes) (bool, error) {
	if err := rt.Validate(); err != nil {
		return false, err
	}
	s, err := r.service(service)
	if err != nil {
		return false, err
	}
	cur, ok := r.takeWritten(service)
	if !ok {
		if cur, err = r.read(ctx, s); err != nil {
			return false, err
		}
	}
	got, err := s.routes(cur)
	if err != nil {
		return false, err
	}
	if cur.test == nil {
		rt.Test = ""
	}
	return got == rt, nil
}

// UnknownTargetGroupError reports a route that forwards to a target group
// that belongs to neither slot of the service.
type UnknownTargetGroupError struct {
	// Route is the rule or listener ARN.
	Route string
	// TargetGroup is the unexpected target group's ARN.
	TargetGroup string
}

func (e *UnknownTargetGroupError) Error() string {
	return fmt.Sprintf("elbrouter: %s forwards to target group %s, which is neither slot A's nor slot B's; "+
		"make the rule forward only to the service's two target groups, or fix TargetGroupA/TargetGroupB in the options", e.Route, e.TargetGroup)
}

// shortARN keeps log lines readable: the resource part of an ARN.
func shortARN(arn string) string {
	if i := strings.Index(arn, ":listener"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
