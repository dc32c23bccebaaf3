package cwmonitor

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/bluegreen-go/bluegreen"
)

// PollerOptions configure a Poller.
type PollerOptions struct {
	// Client reads alarms; a *cloudwatch.Client. Required.
	Client cloudwatch.DescribeAlarmsAPIClient
	// Interval is how old a read may be and still answer a Check: 10 s if
	// 0. Set it to the Deployer's MonitorInterval or below.
	Interval time.Duration
	// Forget drops an alarm name or prefix no Check asked about for that
	// long from the batches; 10 Intervals if 0.
	Forget time.Duration
	// Timeout bounds one batch of calls; 30 s if 0.
	Timeout time.Duration
}

// Poller reads the alarms of every Monitor that shares it in batches: one
// DescribeAlarms call per 100 names (and one per prefix) for all of them,
// instead of one or more per Check. Make one per process and pass it in
// each Monitor's Options.
//
// A Check is answered from the latest batch if that batch read its alarms
// less than Interval ago; it makes no call of its own. Otherwise it waits
// for the next batch, which reads every watched name that is missing or
// older than Interval/2 (so that the names of many deployments fall into
// one batch and stay there), in one call per 100 names. One batch runs at
// a time; Checks that need one while a batch is running share the next.
// An error of a batch fails the Checks that waited for it and is not kept:
// the next Check starts a new batch. A name no Check asked about for
// Forget is dropped.
//
// With N deployments in flight watching 2 alarms each, checked every
// MonitorInterval, the process makes about ceil(2N/100) calls per Interval
// however many deployments there are, instead of N per MonitorInterval.
// The cost is staleness: an alarm's state is up to Interval old when a
// Check sees it (plus CloudWatch's own evaluation period).
type Poller struct {
	client                    cloudwatch.DescribeAlarmsAPIClient
	interval, forget, timeout time.Duration

	mu       sync.Mutex
	names    map[string]*watched
	prefixes map[string]*watched
	flying   *batch // the batch running
	next     *batch // the batch that runs after it
}

// watched is what the Poller knows of an alarm name or a prefix.
type watched struct {
	alarms  []alarm   // the alarm of a name (none if it does not exist), or those of a prefix
	fetched time.Time // when the batch that read alarms started; zero if never read
	asked   time.Time // the latest Check that asked
}

// batch is one round of DescribeAlarms calls.
type batch struct {
	done     chan struct{}
	err      error
	names    map[string]bool // wanted by the Checks waiting for it
	prefixes map[string]bool
}

// NewPoller returns a Poller, or an error naming the option that is wrong.
func NewPoller(o PollerOptions) (*Poller, error) {
	switch {
	case o.Client == nil:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.PollerOptions.Client", Problem: "nil", Fix: "pass cloudwatch.NewFromConfig(cfg)"}
	case o.Interval < 0:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.PollerOptions.Interval", Problem: o.Interval.String(), Fix: "use a positive duration, or 0 for 10s"}
	case o.Forget < 0:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.PollerOptions.Forget", Problem: o.Forget.String(), Fix: "use a positive duration, or 0 for 10 intervals"}
	case o.Timeout < 0:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.PollerOptions.Timeout", Problem: o.Timeout.String(), Fix: "use a positive duration, or 0 for 30s"}
	}
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.Forget == 0 {
		o.Forget = 10 * o.Interval
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	return &Poller{client: o.Client, interval: o.Interval, forget: o.Forget, timeout: o.Timeout,
		names: map[string]*watched{}, prefixes: map[string]*watched{}}, nil
}

// Interval returns how old a read may be and still answer a Check.
func (p *Poller) Interval() time.Duration { return p.interval }

// lookup returns the alarms of names that exist and those matching prefix
// (if not empty), from a batch that started less than Interval ago, or
// from the batch it waited for.
func (p *Poller) lookup(ctx context.Context, names []string, prefix string) (map[string]alarm, error) {
	p.mu.Lock()
	now := time.Now()
	fresh := true
	for _, n := range names {
		fresh = p.ask(p.names, n, now) && fresh
	}
	if prefix != "" {
		fresh = p.ask(p.prefixes, prefix, now) && fresh
	}
	if fresh {
		out := p.collect(names, prefix)
		p.mu.Unlock()
		return out, nil
	}
	b := p.next
	if b == nil {
		b = &batch{done: make(chan struct{}), names: map[string]bool{}, prefixes: map[string]bool{}}
		p.next = b
	}
	for _, n := range names {
		b.names[n] = true
	}
	if prefix != "" {
		b.prefixes[prefix] = true
	}
	if p.flying == nil {
		p.launch(now)
	}
	p.mu.Unlock()

	select {
	case <-b.done:
	case <-ctx.Done():
		return nil, bluegreen.NewError(bluegreen.ErrorCode(ctx.Err()), ctx.Err())
	}
	if b.err != nil {
		return nil, b.err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.collect(names, prefix), nil
}

// ask records that a Check asked about key and reports whether a fresh
// read of it is at hand.
func (p *Poller) ask(m map[string]*watched, key string, now time.Time) bool {
	w := m[key]
	if w == nil {
		w = &watched{}
		m[key] = w
	}
	w.asked = now
	return !w.fetched.IsZero() && now.Sub(w.fetched) < p.interval
}

// collect gathers what the cache holds for names and prefix.
func (p *Poller) collect(names []string, prefix string) map[string]alarm {
	out := map[string]alarm{}
	for _, n := range names {
		if w := p.names[n]; w != nil {
			for _, a := range w.alarms {
				out[a.name] = a
			}
		}
	}
	if w := p.prefixes[prefix]; prefix != "" && w != nil {
		for _, a := range w.alarms {
			out[a.name] = a
		}
	}
	return out
}

// launch starts the next batch; p.mu is held.
func (p *Poller) launch(now time.Time) {
	b := p.next
	p.next, p.flying = nil, b
	pick := func(m map[string]*watched, wanted map[string]bool) []string {
		var keys []string
		for k, w := range m {
			// A name the batch before this one read is fresh: the Checks
			// that wanted it take it from the cache.
			if !w.fetched.IsZero() && now.Sub(w.fetched) < p.interval/2 {
				continue
			}
			if !wanted[k] && now.Sub(w.asked) >= p.forget {
				delete(m, k)
				continue
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	names, prefixes := pick(p.names, b.names), pick(p.prefixes, b.prefixes)
	go p.run(b, now, names, prefixes)
}

// run reads names and prefixes, stores what it read as of start, and
// launches the next batch if Checks are waiting for one.
func (p *Poller) run(b *batch, start time.Time, names, prefixes []string) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	found := map[string]alarm{}
	byPrefix := map[string]map[string]alarm{}
	var err error
	for chunk := range slices.Chunk(names, maxNamesPerCall) {
		if err = describe(ctx, p.client, &cloudwatch.DescribeAlarmsInput{AlarmNames: chunk}, found); err != nil {
			break
		}
	}
	for _, prefix := range prefixes {
		if err != nil {
			break
		}
		byPrefix[prefix] = map[string]alarm{}
		err = describe(ctx, p.client, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(prefix)}, byPrefix[prefix])
	}

	p.mu.Lock()
	if err == nil {
		for _, n := range names {
			w := p.names[n]
			if w == nil {
				continue
			}
			w.alarms, w.fetched = nil, start
			if a, ok := found[n]; ok {
				w.alarms = []alarm{a}
			}
		}
		for _, prefix := range prefixes {
			if w := p.prefixes[prefix]; w != nil {
				w.alarms = slices.Collect(maps.Values(byPrefix[prefix]))
				w.fetched = start
			}
		}
	}
	b.err = err
	p.flying = nil
	if p.next != nil {
		p.launch(time.Now())
	}
	p.mu.Unlock()
	close(b.done)
}
