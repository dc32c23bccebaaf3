package beanstalk

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk/types"
	"github.com/bluegreen-go/bluegreen"
)

// SwapAPI is the part of the Elastic Beanstalk client SwapRouter uses;
// *elasticbeanstalk.Client implements it.
type SwapAPI interface {
	DescribeEnvironments(ctx context.Context, in *eb.DescribeEnvironmentsInput, optFns ...func(*eb.Options)) (*eb.DescribeEnvironmentsOutput, error)
	SwapEnvironmentCNAMEs(ctx context.Context, in *eb.SwapEnvironmentCNAMEsInput, optFns ...func(*eb.Options)) (*eb.SwapEnvironmentCNAMEsOutput, error)
}

// SwapOptions configure a SwapRouter.
type SwapOptions struct {
	// Client is the Elastic Beanstalk client. Required.
	Client SwapAPI
	// Services maps each service name to its application and environments;
	// each needs CNAMEPrefixA, CNAMEPrefixB and ProductionCNAMEPrefix. Required.
	Services map[string]Service
	// SettleTime is how long Verify waits, after the swap has completed
	// (both environments Ready again), for resolvers to drop the old CNAME
	// answers; 60s if zero, the TTL of Elastic Beanstalk's CNAME records.
	SettleTime time.Duration
	// Logger receives a line for every swap; slog.Default if nil.
	Logger *slog.Logger
}

// SwapRouter is a bluegreen.Router and bluegreen.Verifier that moves
// production traffic with Elastic Beanstalk's own blue/green deployment:
// SwapEnvironmentCNAMEs exchanges the two environments' CNAMEs, so the
// environment holding ProductionCNAMEPrefix serves production. The swap is
// all at once: SetRoutes refuses split weights (use CheckShift to refuse a
// linear or canary Config.Shift up front, or route with route53router over
// Route53Service for those).
//
// There is no test route to switch: each environment keeps answering on its
// own CNAME, so green is tested on the CNAME it does not share with
// production (the other prefix). SetRoutes ignores Routes.Test and Routes
// reports no test slot.
type SwapRouter struct {
	client   SwapAPI
	services map[string]Service
	settle   time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	seen map[string]seenRoutes // service -> when its routes were first seen in force
}

type seenRoutes struct {
	routes bluegreen.Routes
	at     time.Time
}

var (
	_ bluegreen.Router     = (*SwapRouter)(nil)
	_ bluegreen.Verifier   = (*SwapRouter)(nil)
	_ bluegreen.ErrorCoder = (*SwapRouter)(nil)
)

// NewSwapRouter returns a SwapRouter, or an error naming the first option that is wrong.
func NewSwapRouter(opts SwapOptions) (*SwapRouter, error) {
	if opts.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "beanstalk.SwapOptions.Client", Problem: "nil", Fix: "pass elasticbeanstalk.NewFromConfig(cfg)"}
	}
	if opts.SettleTime < 0 {
		return nil, &bluegreen.ConfigError{Field: "beanstalk.SwapOptions.SettleTime", Problem: "negative", Fix: "leave it zero for 60s"}
	}
	services, err := validateServices("beanstalk.SwapOptions.Services", opts.Services)
	if err != nil {
		return nil, err
	}
	for name, s := range services {
		if s.CNAMEPrefixA == "" || s.CNAMEPrefixB == "" || s.ProductionCNAMEPrefix == "" {
			return nil, &bluegreen.ConfigError{Field: "beanstalk.SwapOptions.Services[" + name + "].ProductionCNAMEPrefix",
				Problem: "CNAMEPrefixA, CNAMEPrefixB and ProductionCNAMEPrefix must all be set for CNAME swaps",
				Fix:     "give both environments' CNAME prefixes and say which one serves production (usually CNAMEPrefixA)"}
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	settle := opts.SettleTime
	if settle == 0 {
		settle = time.Minute
	}
	return &SwapRouter{client: opts.Client, services: services, settle: settle, log: log, seen: map[string]seenRoutes{}}, nil
}

// CheckShift returns an error unless shift moves all traffic at once, the
// only shift a CNAME swap can make. Call it on the Deployer's Config.Shift
// before bluegreen.New, so that a linear or canary shift is refused before
// anything changes rather than at its first step.
func CheckShift(shift bluegreen.Shift) error {
	steps, err := shift.Resolve("Config.Shift")
	if err != nil {
		return err
	}
	if len(steps) == 1 && steps[0].Green == bluegreen.Full {
		return nil
	}
	return &bluegreen.ConfigError{Field: "Config.Shift", Problem: fmt.Sprintf("%s shift in %d steps: a CNAME swap moves all traffic at once", shiftName(shift), len(steps)),
		Fix: "use bluegreen.AllAtOnce() with beanstalk.SwapRouter, or route with route53router over beanstalk.Route53Service for linear and canary shifts"}
}

func shiftName(s bluegreen.Shift) string {
	if s.Type == "" {
		return "the"
	}
	return "a " + string(s.Type)
}

// SetRoutes makes the environment of the slot with all production traffic
// hold the production CNAME, swapping the two environments' CNAMEs if the
// other one holds it. Split weights are refused (CodeInvalid) before
// anything changes; the zero Routes (nothing routed) change nothing, as a
// CNAME cannot be taken away from both environments. On a service's first
// deployment the new environment is created with the production CNAME
// (nothing else serves it yet), so it answers production traffic from its
// creation: the first deployment cannot be tested before it is live.
func (r *SwapRouter) SetRoutes(ctx context.Context, service string, rt bluegreen.Routes) error {
	if err := rt.Validate(); err != nil {
		return err
	}
	s, err := lookup(r.services, service, "beanstalk.SwapOptions.Services")
	if err != nil {
		return err
	}
	to, ok := allTo(rt.Production)
	if !ok {
		if rt.Production.Empty() {
			return nil
		}
		return &bluegreen.ConfigError{Field: "Routes.Production", Problem: fmt.Sprintf("%v splits traffic: a CNAME swap moves all of it at once", rt.Production),
			Fix: "use bluegreen.AllAtOnce() with beanstalk.SwapRouter (check with beanstalk.CheckShift), or route with route53router for linear and canary shifts"}
	}
	envs, err := environments(ctx, r.client, s)
	if err != nil {
		return err
	}
	holder, ok := productionSlot(s, envs)
	switch {
	case ok && holder == to:
		return nil
	case !ok:
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
			"beanstalk: no environment of %s holds the production CNAME prefix %q; create one with it (the Compute gives it to the first environment it creates)",
			s.Application, s.ProductionCNAMEPrefix))
	}
	if _, exists := envs[to]; !exists {
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("beanstalk: environment %s of slot %s does not exist; nothing to swap production to",
			s.envName(to), to))
	}
	_, err = r.client.SwapEnvironmentCNAMEs(ctx, &eb.SwapEnvironmentCNAMEsInput{
		SourceEnvironmentName: aws.String(s.envName(to)), DestinationEnvironmentName: aws.String(s.envName(holder))})
	if err != nil {
		return fmt.Errorf("beanstalk: SwapEnvironmentCNAMEs %s and %s: %w", s.envName(to), s.envName(holder), err)
	}
	r.log.InfoContext(ctx, "beanstalk: CNAMEs swapped", "service", service, "production", s.envName(to), "from", s.envName(holder))
	return nil
}

// allTo returns the slot with all the weight, if one has it.
func allTo(w bluegreen.Weights) (bluegreen.Slot, bool) {
	switch w {
	case bluegreen.AllTo(bluegreen.SlotA):
		return bluegreen.SlotA, true
	case bluegreen.AllTo(bluegreen.SlotB):
		return bluegreen.SlotB, true
	}
	return "", false
}

// productionSlot returns the slot whose environment holds the production CNAME.
func productionSlot(s Service, envs map[bluegreen.Slot]types.EnvironmentDescription) (bluegreen.Slot, bool) {
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		if e, ok := envs[slot]; ok && e.Status != types.EnvironmentStatusTerminating && cnamePrefix(aws.ToString(e.CNAME)) == s.ProductionCNAMEPrefix {
			return slot, true
		}
	}
	return "", false
}

// Routes reports all production traffic on the slot whose environment
// holds the production CNAME, or nothing routed if neither does. The test
// slot is always "": nothing switches test traffic.
func (r *SwapRouter) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	s, err := lookup(r.services, service, "beanstalk.SwapOptions.Services")
	if err != nil {
		return bluegreen.Routes{}, err
	}
	envs, err := environments(ctx, r.client, s)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	if slot, ok := productionSlot(s, envs); ok {
		return bluegreen.Routes{Production: bluegreen.AllTo(slot)}, nil
	}
	return bluegreen.Routes{}, nil
}

// Verify reports true at once for routes with no production weights, which
// SetRoutes leaves alone. Otherwise it reports whether rt's production
// slot holds the production CNAME,
// both environments are Ready again (a swap makes them Updating), and
// SettleTime has passed since this router first saw that, so that
// resolvers no longer answer with the old environment. It answers false,
// without an error, until then.
func (r *SwapRouter) Verify(ctx context.Context, service string, rt bluegreen.Routes) (bool, error) {
	s, err := lookup(r.services, service, "beanstalk.SwapOptions.Services")
	if err != nil {
		return false, err
	}
	if rt.Production.Empty() {
		return true, nil // SetRoutes changes nothing for these
	}
	envs, err := environments(ctx, r.client, s)
	if err != nil {
		return false, err
	}
	want := bluegreen.Routes{Production: rt.Production}
	var cur bluegreen.Routes
	if slot, ok := productionSlot(s, envs); ok {
		cur.Production = bluegreen.AllTo(slot)
	}
	if cur != want {
		return false, nil
	}
	for _, e := range envs {
		if e.Status != types.EnvironmentStatusReady && e.Status != types.EnvironmentStatusTerminating {
			return false, nil
		}
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen, ok := r.seen[service]
	if !ok || seen.routes != want {
		seen = seenRoutes{routes: want, at: now}
		r.seen[service] = seen
	}
	return !now.Before(seen.at.Add(r.settle)), nil
}
