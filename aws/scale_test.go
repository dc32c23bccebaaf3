package aws_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go/middleware"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsbudget"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
)

var scaleN = flag.Int("scale", 0, "run TestScale with this many concurrent deployments (1000 for the figures in aws/README.md)")

// callLog records every attempt of every AWS call by virtual second.
type callLog struct {
	mu    sync.Mutex
	start time.Time
	bySec map[string]map[int]int // "ECS:CreateTaskSet" -> second -> calls
	total map[string]int
}

func (c *callLog) ID() string { return "test/callLog" }

func (c *callLog) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	key := awsmiddleware.GetServiceID(ctx) + ":" + awsmiddleware.GetOperationName(ctx)
	c.mu.Lock()
	if c.bySec[key] == nil {
		c.bySec[key] = map[int]int{}
	}
	c.bySec[key][int(time.Since(c.start)/time.Second)]++
	c.total[key]++
	c.mu.Unlock()
	return next.HandleFinalize(ctx, in)
}

// reset forgets the calls so far and starts the clock again.
func (c *callLog) reset() {
	c.mu.Lock()
	c.start, c.bySec, c.total = time.Now(), map[string]map[int]int{}, map[string]int{}
	c.mu.Unlock()
}

// inProcess replaces the world's clients with clients that reach its fakes
// in process (so that the world runs in a testing/synctest bubble), log
// their calls and, with limiter, wait for its tokens.
func (w *world) inProcess(log *callLog, limiter *awsbudget.Limiter) {
	config := func(fake http.Handler) aws.Config {
		c := awsfake.InProcessConfig(fake)
		if limiter != nil {
			limiter.Install(&c)
		}
		c.APIOptions = append(c.APIOptions, func(s *middleware.Stack) error { return s.Finalize.Add(log, middleware.After) })
		return c
	}
	w.ecsClient = ecs.NewFromConfig(config(w.ecs))
	w.elbClient = elbv2.NewFromConfig(config(w.elb))
	w.scalingClient = aas.NewFromConfig(config(w.scaling))
	w.lambdaClient = lambda.NewFromConfig(config(w.lambda))
	w.cwClient = cloudwatch.NewFromConfig(config(w.cw))
	w.ddbClient = dynamodb.NewFromConfig(config(w.ddb))
}

// scaleRun is what one run of concurrent deployments measured.
type scaleRun struct {
	n             int
	virtual       time.Duration
	wall          time.Duration
	peak, mean    map[string]float64 // calls a second, by SERVICE:Operation
	total         map[string]int
	perDeployment float64
	// adapters is perDeployment without DynamoDB, whose calls (the state
	// writes of the store and the Deployer's heartbeat) neither the poller
	// nor the limiter change.
	adapters float64
	bySec    map[string]map[int]int // calls by SERVICE:Operation and virtual second
}

// peakOf returns the busiest second of each group of operations, by the
// group name group gives an operation ("" for none).
func (r scaleRun) peakOf(group func(op string) string) map[string]float64 {
	sums := map[string]map[int]int{}
	for op, bySec := range r.bySec {
		g := group(op)
		if g == "" {
			continue
		}
		if sums[g] == nil {
			sums[g] = map[int]int{}
		}
		for sec, c := range bySec {
			sums[g][sec] += c
		}
	}
	out := map[string]float64{}
	for g, bySec := range sums {
		for _, c := range bySec {
			out[g] = max(out[g], float64(c))
		}
	}
	return out
}

func (r scaleRun) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d deployments: %v virtual, %v wall, %.1f calls per deployment (%.1f without DynamoDB)\n", r.n, r.virtual.Round(time.Second), r.wall.Round(time.Millisecond), r.perDeployment, r.adapters)
	fmt.Fprintf(&b, "  %-55s %8s %8s %8s\n", "API", "calls", "peak/s", "mean/s")
	for _, k := range slices.Sorted(maps.Keys(r.total)) {
		fmt.Fprintf(&b, "  %-55s %8d %8.0f %8.2f\n", k, r.total[k], r.peak[k], r.mean[k])
	}
	elb := r.peakOf(func(op string) string {
		if strings.HasPrefix(op, "Elastic Load Balancing v2:") {
			return "all"
		}
		return ""
	})
	elbCalls := 0
	for op, c := range r.total {
		if strings.HasPrefix(op, "Elastic Load Balancing v2:") {
			elbCalls += c
		}
	}
	fmt.Fprintf(&b, "  %-55s %8d %8.0f %8.2f\n", "Elastic Load Balancing v2 (all actions)", elbCalls, elb["all"], float64(elbCalls)/max(1, r.virtual.Seconds()))
	return b.String()
}

// runScale deploys revision 1 then revision 2 of n services at once (linear
// 10 steps of a minute, a 5-minute bake, the Lambda hook, two alarms, the
// default 10s monitor interval) in virtual time, and measures the second
// round. With shared, the monitors share a cwmonitor.Poller and every
// client shares an awsbudget.Limiter with the default buckets.
func runScale(t *testing.T, n int, shared bool) (run scaleRun, limiter *awsbudget.Limiter) {
	w := newWorld(t) // its loopback servers stay outside the bubble, unused
	wall := time.Now()
	defer func() { run.wall = time.Since(wall) }()
	synctest.Test(t, func(t *testing.T) {
		log := &callLog{}
		log.reset()
		tune := tuning{shift: bluegreen.Linear(10, time.Minute), bake: 5 * time.Minute, adjust: func(c *bluegreen.Config) {
			c.MonitorInterval = 10 * time.Second
			c.HealthInterval = 10 * time.Second
			c.VerifyInterval = time.Second
			c.Retry = bluegreen.RetryPolicy{}
		}}
		if shared {
			var err error
			if limiter, err = awsbudget.New(awsbudget.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		w.inProcess(log, limiter)
		if shared {
			var err error
			if tune.poller, err = cwmonitor.NewPoller(cwmonitor.PollerOptions{Client: w.cwClient, Interval: 10 * time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		services := make([]service, n)
		for i := range services {
			services[i] = w.addService(t, fmt.Sprintf("svc-%04d", i), false)
		}
		d := w.deployer(t, services, tune)
		deployAll := func(rev int) {
			var wg sync.WaitGroup
			for _, s := range services {
				wg.Go(func() {
					dep, err := d.Start(t.Context(), s.name, revision(s.name, rev))
					if err != nil {
						t.Errorf("Start %s: %v", s.name, err)
						return
					}
					res, err := dep.Wait(t.Context())
					if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
						t.Errorf("%s revision %d: %s, %v", s.name, rev, res.Outcome, err)
					}
				})
			}
			wg.Wait()
		}
		deployAll(1)
		if t.Failed() {
			t.FailNow()
		}
		log.reset()
		deployAll(2)
		run = scaleRun{n: n, virtual: time.Since(log.start), peak: map[string]float64{}, mean: map[string]float64{}, total: log.total, bySec: log.bySec}
		secs := max(1, run.virtual.Seconds())
		all, ddb := 0, 0
		for k, bySec := range log.bySec {
			if strings.HasPrefix(k, "DynamoDB:") {
				ddb += log.total[k]
			}
			for _, c := range bySec {
				run.peak[k] = max(run.peak[k], float64(c))
			}
			run.mean[k] = float64(log.total[k]) / secs
			all += log.total[k]
		}
		run.perDeployment = float64(all) / float64(n)
		run.adapters = float64(all-ddb) / float64(n)
	})
	return run, limiter
}

// TestScale measures n concurrent deployments without and with the shared
// poller and the limiter (see aws/README.md): 100 by default, -scale=1000
// for the figures. With them, every API's busiest second stays within its
// bucket (rate plus burst), and a deployment makes at most half the calls.
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("concurrent deployments in virtual time; skipped with -short")
	}
	if raceEnabled {
		// Under the race detector, thousands of SDK calls in synctest
		// bubbles beside this package's other tests once crashed the
		// runtime (SIGSEGV in a bubble); .ci/run runs this test without
		// -race instead.
		t.Skip("run without -race: go test -run 'TestScale$' ./aws")
	}
	n := 100
	if *scaleN > 0 {
		n = *scaleN
	}
	before, _ := runScale(t, n, false)
	t.Logf("each deployment polling on its own:\n%s", before)
	after, limiter := runScale(t, n, true)
	t.Logf("shared poller, limiter:\n%s", after)
	if after.adapters > before.adapters/2 {
		t.Errorf("%.1f calls per deployment (without DynamoDB) with the poller, want at most half of %.1f", after.adapters, before.adapters)
	}
	// DynamoDB included: the limiter stretches the deployments (ModifyRule
	// waits its turn), which must not cost a store write per deployment
	// per renewal interval; one heartbeat keeps every lease.
	if after.perDeployment > before.perDeployment/2 {
		t.Errorf("%.1f calls per deployment (DynamoDB included) with the poller, want at most half of %.1f", after.perDeployment, before.perDeployment)
	}
	buckets := map[string]awsbudget.Bucket{}
	byName := map[string]awsbudget.Bucket{}
	for _, b := range awsbudget.DefaultBuckets() {
		byName[b.Name] = b
		for _, op := range b.Operations {
			buckets[op] = b
		}
	}
	within := func(b awsbudget.Bucket, peak float64) string {
		burst := b.Burst
		if burst == 0 {
			burst = int(b.Rate)
		}
		if peak > b.Rate+float64(burst) {
			return fmt.Sprintf("%.0f calls in one second, over bucket %s (%v a second, burst %d)", peak, b.Name, b.Rate, burst)
		}
		return ""
	}
	for op, peak := range after.peak {
		b, ok := buckets[op]
		if !ok {
			continue // DynamoDB: capacity-based, not limited
		}
		if msg := within(b, peak); msg != "" {
			t.Errorf("%s: %s", op, msg)
		}
	}
	// Account-level buckets (ELBv2): the busiest second of all their
	// operations together.
	for name, peak := range after.peakOf(func(op string) string {
		if b, ok := buckets[op]; ok {
			return b.Within
		}
		return ""
	}) {
		if msg := within(byName[name], peak); msg != "" {
			t.Errorf("%s", msg)
		}
	}
	for name, st := range limiter.Stats() {
		if st.Throttled > 0 {
			t.Errorf("bucket %s: %d throttling answers", name, st.Throttled)
		}
	}
}
