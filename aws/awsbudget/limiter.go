package awsbudget

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// Limit is a token bucket: Rate tokens a second, holding at most Burst.
type Limit struct {
	// Rate is the sustained rate, in calls per second. Required (> 0).
	Rate float64
	// Burst is the most calls made at once after a quiet spell; Rate
	// rounded up (at least 1) if 0.
	Burst int
}

// Bucket is a token bucket and the operations that draw from it: one
// operation, or several that AWS throttles together (ELBv2's Describe*).
//
// Some services also limit every action of an account together (ELBv2: 40
// tokens refilled at 10 a second, across all actions; Route 53: 50 and
// 10): a Bucket whose Within names such an account-level bucket takes a
// token from both for each call: first from its own bucket, then, once it
// has that one, from the account-level bucket.
type Bucket struct {
	// Name names the bucket in Stats and logs ("elasticloadbalancing:mutating").
	Name string
	// Operations are the SDK service ID and operation name of each call
	// that takes a token, such as "ECS:CreateTaskSet" or
	// "Elastic Load Balancing v2:DescribeRules" (the ServiceID constant of
	// each SDK service package, a colon, the operation's method name).
	// Required, except in a bucket that other buckets name in Within and
	// that no call draws from directly.
	Operations []string
	// Within names another bucket of the same Options (an account-level
	// bucket) that every call of this bucket also takes a token from.
	// That bucket may not have a Within of its own. Empty for none.
	Within string
	// Limit is the configured rate and burst.
	Limit
	// Source says where the limit comes from, for people reading the
	// configuration; it is not used.
	Source string
}

// Options configure a Limiter. The zero value uses DefaultBuckets.
type Options struct {
	// Buckets are the buckets; DefaultBuckets() if nil. An operation may be
	// in one bucket only.
	Buckets []Bucket
	// Other limits each operation no bucket names, with a bucket of its
	// own; the zero Limit leaves them unlimited.
	Other Limit
	// MinFraction is the least share of a bucket's configured rate that
	// throttling answers bring it down to; 1/16 if 0.
	MinFraction float64
	// Recovery is the share of the configured rate regained per second
	// after a cut; 0.05 if 0 (from half to full in 10 s).
	Recovery float64
	// Cooldown is the least time between two cuts of one bucket, so that
	// the throttling answers to one burst halve it once; 1 s if 0.
	Cooldown time.Duration
	// Logger receives a warning when a bucket's rate is cut. Nothing is
	// logged if nil.
	Logger *slog.Logger
}

// Limiter holds the buckets. It is safe for concurrent use; make one per
// process (per account and Region) and install it on every aws.Config
// whose clients should share it.
type Limiter struct {
	opts    Options
	buckets map[string]*bucket // by operation key
	mu      sync.Mutex         // guards others
	others  map[string]*bucket
	named   []*bucket
}

// New returns a Limiter, or an error naming the first option that is wrong.
func New(o Options) (*Limiter, error) {
	if o.Buckets == nil {
		o.Buckets = DefaultBuckets()
	}
	switch {
	case o.MinFraction == 0:
		o.MinFraction = 1.0 / 16
	case o.MinFraction < 0 || o.MinFraction > 1:
		return nil, &bluegreen.ConfigError{Field: "awsbudget.Options.MinFraction", Problem: fmt.Sprint(o.MinFraction), Fix: "use a share between 0 and 1"}
	}
	switch {
	case o.Recovery == 0:
		o.Recovery = 0.05
	case o.Recovery < 0:
		return nil, &bluegreen.ConfigError{Field: "awsbudget.Options.Recovery", Problem: fmt.Sprint(o.Recovery), Fix: "use a positive share per second"}
	}
	switch {
	case o.Cooldown == 0:
		o.Cooldown = time.Second
	case o.Cooldown < 0:
		return nil, &bluegreen.ConfigError{Field: "awsbudget.Options.Cooldown", Problem: o.Cooldown.String(), Fix: "use a positive duration"}
	}
	if o.Other != (Limit{}) {
		if err := o.Other.validate("awsbudget.Options.Other"); err != nil {
			return nil, err
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{opts: o, buckets: map[string]*bucket{}, others: map[string]*bucket{}}
	byName := map[string]Bucket{}
	enclosing := map[string]bool{} // names of buckets some Within names
	for _, b := range o.Buckets {
		if b.Within != "" {
			enclosing[b.Within] = true
		}
	}
	made := map[string]*bucket{}
	for i, b := range o.Buckets {
		field := fmt.Sprintf("awsbudget.Options.Buckets[%d]", i)
		if b.Name == "" {
			return nil, &bluegreen.ConfigError{Field: field + ".Name", Problem: "empty", Fix: "name the bucket"}
		}
		if _, dup := byName[b.Name]; dup {
			return nil, &bluegreen.ConfigError{Field: field + ".Name", Problem: fmt.Sprintf("%q names two buckets", b.Name), Fix: "give each bucket its own name"}
		}
		byName[b.Name] = b
		if err := b.Limit.validate(field); err != nil {
			return nil, err
		}
		if len(b.Operations) == 0 && !enclosing[b.Name] {
			return nil, &bluegreen.ConfigError{Field: field + ".Operations", Problem: "empty", Fix: `list the operations, such as "ECS:CreateTaskSet"`}
		}
		nb := newBucket(b.Name, b.Limit, o.Recovery)
		made[b.Name] = nb
		l.named = append(l.named, nb)
		for _, op := range b.Operations {
			if !strings.Contains(op, ":") {
				return nil, &bluegreen.ConfigError{Field: field + ".Operations", Problem: fmt.Sprintf("%q is not SERVICE:Operation", op),
					Fix: `write the SDK's service ID and the operation, such as "ECS:CreateTaskSet"`}
			}
			if _, dup := l.buckets[op]; dup {
				return nil, &bluegreen.ConfigError{Field: field + ".Operations", Problem: fmt.Sprintf("%s is in two buckets", op), Fix: "keep it in one"}
			}
			l.buckets[op] = nb
		}
	}
	for i, b := range o.Buckets {
		if b.Within == "" {
			continue
		}
		field := fmt.Sprintf("awsbudget.Options.Buckets[%d].Within", i)
		outer, ok := byName[b.Within]
		switch {
		case !ok:
			return nil, &bluegreen.ConfigError{Field: field, Problem: fmt.Sprintf("no bucket is named %q", b.Within), Fix: "name a bucket of Options.Buckets, or leave Within empty"}
		case b.Within == b.Name:
			return nil, &bluegreen.ConfigError{Field: field, Problem: "names its own bucket", Fix: "name the account-level bucket, or leave Within empty"}
		case outer.Within != "":
			return nil, &bluegreen.ConfigError{Field: field, Problem: fmt.Sprintf("%q is itself within %q", b.Within, outer.Within), Fix: "name the outermost bucket: one level of Within only"}
		}
		made[b.Name].within = made[b.Within]
	}
	return l, nil
}

func (lim Limit) validate(field string) error {
	if !(lim.Rate > 0) || math.IsInf(lim.Rate, 0) {
		return &bluegreen.ConfigError{Field: field + ".Rate", Problem: fmt.Sprint(lim.Rate), Fix: "use a positive number of calls per second"}
	}
	if lim.Burst < 0 {
		return &bluegreen.ConfigError{Field: field + ".Burst", Problem: fmt.Sprint(lim.Burst), Fix: "use 0 (the rate) or a positive number of calls"}
	}
	return nil
}

// bucket returns the bucket of an operation, or nil if it is not limited.
func (l *Limiter) bucket(service, operation string) *bucket {
	key := service + ":" + operation
	if b := l.buckets[key]; b != nil {
		return b
	}
	if l.opts.Other == (Limit{}) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.others[key]
	if b == nil {
		b = newBucket(key, l.opts.Other, l.opts.Recovery)
		l.others[key] = b
	}
	return b
}

// Wait takes a token for one call of service's operation (the SDK service
// ID and operation name), waiting for one if the bucket is empty, or
// returns ctx's error if ctx ends first. The middleware calls it; code that
// calls AWS some other way may too.
func (l *Limiter) Wait(ctx context.Context, service, operation string) error {
	b := l.bucket(service, operation)
	if b == nil {
		return nil
	}
	if err := b.wait(ctx); err != nil {
		return err
	}
	// The account-level bucket is asked once the call's own bucket has a
	// token for it, so that a call waiting in its bucket holds no place in
	// the account's: the account's tokens go to the calls that are ready.
	if b.within != nil {
		if err := b.within.wait(ctx); err != nil {
			b.giveBack()
			return err
		}
	}
	return nil
}

// wait takes a token from b, waiting until it is there, or gives it back
// and returns ctx's error if ctx ends first.
func (b *bucket) wait(ctx context.Context) error {
	d := b.reserve(time.Now())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.giveBack()
		return ctx.Err()
	}
}

// Observe feeds the outcome of one call back: a throttling error cuts the
// operation's bucket (see the package documentation). Other outcomes,
// including nil, change nothing.
func (l *Limiter) Observe(service, operation string, err error) {
	if err == nil || awserr.Classify(err, nil) != bluegreen.CodeThrottled {
		return
	}
	b := l.bucket(service, operation)
	if b == nil {
		return
	}
	if rate, cut := b.cut(time.Now(), l.opts); cut {
		l.opts.Logger.Warn("awsbudget: AWS throttled a call; rate cut", "bucket", b.name, "operation", service+":"+operation, "rate", rate)
	}
}

// BucketStats is a bucket's state.
type BucketStats struct {
	// Limit is the configured limit.
	Limit Limit
	// Rate is the rate now, below Limit.Rate after throttling.
	Rate float64
	// Calls is the number of tokens taken.
	Calls int
	// Waited is the number of calls that waited for a token.
	Waited int
	// Throttled is the number of throttling answers observed.
	Throttled int
	// Cuts is the number of times the rate was cut.
	Cuts int
}

// Stats returns the state of every bucket that has been used or is
// configured, by bucket name.
func (l *Limiter) Stats() map[string]BucketStats {
	now := time.Now()
	out := map[string]BucketStats{}
	l.mu.Lock()
	all := append(slices.Clone(l.named), slices.Collect(maps.Values(l.others))...)
	l.mu.Unlock()
	for _, b := range all {
		out[b.name] = b.stats(now, l.opts)
	}
	return out
}

// APIOptions returns the middleware to pass to config.WithAPIOptions or
// append to aws.Config.APIOptions.
func (l *Limiter) APIOptions() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{l.addMiddleware}
}

// Install appends the middleware to cfg.APIOptions: every client made from
// cfg afterwards shares the Limiter's buckets.
func (l *Limiter) Install(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, l.APIOptions()...)
}

// middlewareID is the ID of the middleware in a stack.
const middlewareID = "bluegreen/awsbudget"

func (l *Limiter) addMiddleware(stack *middleware.Stack) error {
	m := finalize{l}
	if _, ok := stack.Finalize.Get(middlewareID); ok {
		return nil // installed twice: once is enough
	}
	// After the retryer, so that every attempt takes a token; before
	// signing, which follows it, so that no signed request waits.
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(m, "Retry", middleware.After)
	}
	return stack.Finalize.Add(m, middleware.Before)
}

// finalize is the middleware: it waits for a token and observes the answer.
type finalize struct{ l *Limiter }

func (finalize) ID() string { return middlewareID }

func (m finalize) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	if err := m.l.Wait(ctx, service, op); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("awsbudget: waiting for a %s:%s token: %w", service, op, err)
	}
	out, md, err := next.HandleFinalize(ctx, in)
	m.l.Observe(service, op, err)
	return out, md, err
}

// bucket is one token bucket whose rate moves with throttling (AIMD).
type bucket struct {
	name     string
	limit    Limit
	recovery float64 // Options.Recovery

	within *bucket // the account-level bucket each call also draws from, or nil

	mu                             sync.Mutex
	rate                           float64 // tokens per second now
	tokens                         float64 // may be negative: calls waiting for tokens to come
	last                           time.Time
	lastCut                        time.Time
	calls, waited, throttled, cuts int
}

func newBucket(name string, lim Limit, recovery float64) *bucket {
	if lim.Burst == 0 {
		lim.Burst = max(1, int(math.Ceil(lim.Rate)))
	}
	return &bucket{name: name, limit: lim, recovery: recovery, rate: lim.Rate, tokens: float64(lim.Burst)}
}

// burst is the bucket's capacity at the current rate: the configured burst
// shrinks with the rate, to at least one token.
func (b *bucket) burst() float64 {
	return max(1, float64(b.limit.Burst)*b.rate/b.limit.Rate)
}

// advance refills the bucket and recovers its rate up to now.
func (b *bucket) advance(now time.Time) {
	if b.last.IsZero() {
		b.last = now
		return
	}
	dt := now.Sub(b.last).Seconds()
	if dt <= 0 {
		return
	}
	b.last = now
	if b.rate < b.limit.Rate {
		// Refill at the mean of the old and new rates over dt.
		newRate := min(b.limit.Rate, b.rate+b.limit.Rate*b.recovery*dt)
		b.tokens += (b.rate + newRate) / 2 * dt
		b.rate = newRate
	} else {
		b.tokens += b.rate * dt
	}
	b.tokens = min(b.tokens, b.burst())
}

// reserve takes a token and returns how long to wait until it is there.
func (b *bucket) reserve(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.calls++
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	b.waited++
	return time.Duration(math.Ceil(-b.tokens / b.rate * float64(time.Second)))
}

// giveBack returns a token a canceled wait did not use.
func (b *bucket) giveBack() {
	b.mu.Lock()
	b.tokens = min(b.tokens+1, b.burst())
	b.calls--
	b.mu.Unlock()
}

// cut halves the rate after a throttling answer, unless it was cut less
// than a cooldown ago, and empties the bucket.
func (b *bucket) cut(now time.Time, o Options) (float64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.throttled++
	if !b.lastCut.IsZero() && now.Sub(b.lastCut) < o.Cooldown {
		return b.rate, false
	}
	b.lastCut = now
	b.cuts++
	b.rate = max(b.limit.Rate*o.MinFraction, b.rate/2)
	b.tokens = min(b.tokens, 0)
	return b.rate, true
}

func (b *bucket) stats(now time.Time, o Options) BucketStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	return BucketStats{Limit: b.limit, Rate: b.rate, Calls: b.calls, Waited: b.waited, Throttled: b.throttled, Cuts: b.cuts}
}
