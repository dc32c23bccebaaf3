// Command switch is bluegreen's zero-downtime benchmark: constant-rate load
// through the built-in proxy during K complete blue/green deployments (local
// backend, linear shift, blue drained and removed), with long requests in
// flight at every switch; then the same load sent straight to one instance
// as the baseline; then a bad release rolled back by the error-rate monitor;
// then the proxy's speed against a plain httputil.ReverseProxy (and haproxy,
// where it is installed).
//
//	go run ./internal/bench/switch -deployments 20 -rate 1000
//	go run ./internal/bench/switch -deployments 0 -baseline 0 -rollback=false   # speed only
//
// It prints one JSON object: requests, failures and p50/p99/max latency
// through the proxy and direct, and their ratios; the long requests; how
// soon green served its first request after each weight change; the
// rollback's time from trigger to all traffic verified on blue; and the
// throughput and p99 comparisons. Progress goes to stderr.
//
// For the speed comparison every front (the built-in proxy, the plain
// reference, haproxy) runs in a process of its own before the same
// instance, and the load comes from another process (this program again,
// with the internal flags -front and -loadgen): none of them shares a Go
// runtime with another. Throughput is wrk -c64 style (64 keep-alive
// connections, one request at a time each); the fronts take turns for
// -speed-rounds rounds and medians are reported with every round's figure,
// as neighbors on a shared machine come and go. p99 at 2,000 requests/s
// is measured plainly and, for the proxy and haproxy, while all traffic
// moves between the live environment's two instances every 100 ms (the
// proxy's SetRoutes; haproxy's "set weight" over its runtime API).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// options are the benchmark's flags.
type options struct {
	deployments int
	rate        int
	stepPercent float64
	stepWait    time.Duration
	bake        time.Duration
	long        time.Duration
	longWorkers int
	baseline    time.Duration
	speed       time.Duration
	speedRounds int
	rollback    bool
	cpuprofile  string
}

func main() {
	var o options
	flag.IntVar(&o.deployments, "deployments", 20, "complete deployments under load")
	flag.IntVar(&o.rate, "rate", 1000, "constant request rate, per second")
	flag.Float64Var(&o.stepPercent, "step", 25, "linear shift step, percent")
	flag.DurationVar(&o.stepWait, "step-wait", 300*time.Millisecond, "wait after each shift step")
	flag.DurationVar(&o.bake, "bake", 200*time.Millisecond, "bake time")
	flag.DurationVar(&o.long, "long", time.Second, "duration of the long requests kept in flight")
	flag.IntVar(&o.longWorkers, "long-workers", 4, "long requests kept in flight at all times")
	flag.DurationVar(&o.baseline, "baseline", 10*time.Second, "duration of the direct baseline; 0 skips it")
	flag.DurationVar(&o.speed, "speed", 5*time.Second, "duration of each throughput and p99 run (p99 at 2,000 req/s from 2,000 samples a second); 0 skips them")
	flag.IntVar(&o.speedRounds, "speed-rounds", 5, "rounds of throughput and p99 runs, the fronts taking turns; medians are reported")
	flag.BoolVar(&o.rollback, "rollback", true, "also roll back a bad release and time it")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process (the proxies) during the speed runs to this file")
	loadSpec := flag.String("loadgen", "", "internal: run as the speed runs' load generator")
	front := flag.String("front", "", "internal: run as a front (proxy or plain) for the speed runs")
	upstream := flag.String("upstream", "", "internal: the instance a -front serves")
	flag.Parse()
	if *loadSpec != "" || *front != "" {
		var err error
		if *loadSpec != "" {
			err = runLoadgen(*loadSpec, os.Stdout)
		} else {
			err = runFront(*front, *upstream, o.cpuprofile, os.Stdin, os.Stdout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "switch:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "switch:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
	if rep.Proxy.Failures > 0 || rep.LongRequests.Failures > 0 {
		os.Exit(1)
	}
}

// report is the JSON the benchmark prints.
type report struct {
	Deployments  int          `json:"deployments"`
	Rate         int          `json:"rate"`
	Seconds      float64      `json:"seconds"`
	Proxy        stats        `json:"proxy"`
	Direct       stats        `json:"direct"`
	Ratios       ratios       `json:"ratios"`
	LongRequests longStats    `json:"longRequests"`
	GreenFirstMs distribution `json:"greenFirstRequestMs"`
	Rollback     *rollback    `json:"rollback,omitempty"`
	Speed        *speed       `json:"speed,omitempty"`
}

type ratios struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type rollback struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	// TriggerToBlueMs is the time from the monitor's alarm to all traffic
	// verified back on blue.
	TriggerToBlueMs float64 `json:"triggerToBlueMs"`
}

func run(ctx context.Context, o options, log io.Writer) (*report, error) {
	started := time.Now()
	dir, err := os.MkdirTemp("", "bluegreen-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	app := filepath.Join(dir, "app")
	fmt.Fprintln(log, "building examples/app...")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", app, "github.com/bluegreen-go/bluegreen/examples/app").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the sample app: %v\n%s", err, b)
	}

	px, err := proxy.New(proxy.Options{
		Addr: "127.0.0.1:0", TestAddr: "off",
		Defaults: proxy.ServiceConfig{
			HealthCheck:         proxy.HealthCheck{Path: "/healthz", Interval: time.Second},
			DeregistrationDelay: 30 * time.Second,
		},
		ErrorRate: proxy.ErrorRate{MaxRate: 0.05, Window: 200, MinRequests: 50},
	})
	if err != nil {
		return nil, err
	}
	if err := px.Start(); err != nil {
		return nil, err
	}
	defer px.Close()
	compute, err := local.New(local.Options{LogDir: filepath.Join(dir, "logs"), Targets: px,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer compute.Close()
	router := &timedRouter{Proxy: px}
	base := bluegreen.Config{
		Compute: compute, Router: router, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(o.stepPercent, o.stepWait), BakeTime: o.bake,
		HealthInterval: 20 * time.Millisecond, VerifyInterval: 10 * time.Millisecond, MonitorInterval: 50 * time.Millisecond,
	}
	d, err := bluegreen.New(base)
	if err != nil {
		return nil, err
	}
	revision := func(name string, env map[string]string) (bluegreen.Revision, error) {
		return local.Spec{Command: app, Instances: 2, Env: env,
			Readiness: local.Readiness{Path: "/healthz"}, StopTimeout: local.Duration(5 * time.Second)}.Revision(name)
	}

	rev, err := revision("v0", nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "deploying v0 (first deployment, no load yet)...")
	if _, err := d.Deploy(ctx, "web", rev); err != nil {
		return nil, fmt.Errorf("deploy v0: %w", err)
	}
	router.measure.Store(true)

	prod := "http://" + px.Addr() + "/"
	fmt.Fprintf(log, "load: %d req/s through %s, %d long requests (%v) in flight; %d deployments\n",
		o.rate, prod, o.longWorkers, o.long, o.deployments)
	load := startAttack(prod, o.rate)
	longs := startLong(ctx, fmt.Sprintf("http://%s/slow?d=%s", px.Addr(), o.long), o.longWorkers)
	for i := 1; i <= o.deployments; i++ {
		rev, err := revision(fmt.Sprintf("v%d", i), nil)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		res, err := d.Deploy(ctx, "web", rev)
		if err != nil {
			load.stop()
			longs.stop()
			return nil, fmt.Errorf("deploy v%d: %w", i, err)
		}
		fmt.Fprintf(log, "  v%d %s in %v (green in slot %s)\n", i, res.Outcome, time.Since(t0).Round(time.Millisecond), res.Green.Slot)
	}
	rep := &report{Deployments: o.deployments, Rate: o.rate}
	rep.LongRequests = longs.stop()
	rep.Proxy = load.stop()
	rep.GreenFirstMs = router.firstGreen()

	live, err := px.Routes(ctx, "web")
	if err != nil {
		return nil, err
	}
	slot := bluegreen.SlotA
	if live.Production.B == bluegreen.Full {
		slot = bluegreen.SlotB
	}
	ts, err := px.Targets(ctx, "web", slot)
	if err != nil || len(ts) == 0 {
		return nil, fmt.Errorf("no live instance for the baseline: %v", err)
	}
	if o.baseline > 0 {
		fmt.Fprintf(log, "baseline: %d req/s straight to %s for %v\n", o.rate, ts[0].Addr, o.baseline)
		rep.Direct = attackFor(ts[0].Addr+"/", o.rate, o.baseline)
		rep.Ratios = ratios{
			P50: ratio(rep.Proxy.P50Ms, rep.Direct.P50Ms),
			P99: ratio(rep.Proxy.P99Ms, rep.Direct.P99Ms),
			Max: ratio(rep.Proxy.MaxMs, rep.Direct.MaxMs),
		}
	}

	if o.rollback {
		rb, err := badRelease(ctx, base, px, revision, prod, o.rate, log)
		if err != nil {
			return nil, err
		}
		rep.Rollback = rb
	}
	if o.speed > 0 {
		other := ""
		if len(ts) > 1 {
			other = ts[1].Addr
		}
		sp, err := measureSpeed(ctx, ts[0].Addr, other, o.speed, o.speedRounds, o.cpuprofile, log)
		if err != nil {
			return nil, err
		}
		rep.Speed = sp
	}
	rep.Seconds = time.Since(started).Round(10 * time.Millisecond).Seconds()
	return rep, nil
}

// badRelease deploys a release that fails half its requests, with the
// proxy's error-rate monitor, under load, and times the rollback.
func badRelease(ctx context.Context, base bluegreen.Config, px *proxy.Proxy,
	revision func(string, map[string]string) (bluegreen.Revision, error), url string, rate int, log io.Writer) (*rollback, error) {
	var fired, back time.Time
	cfg := base
	cfg.Monitors = []bluegreen.Monitor{px}
	// The monitor answers INCONCLUSIVE until green has answered
	// Options.ErrorRate.MinRequests requests; the steps and the bake wait
	// for that evidence. (When a monitor below its minimum counted as
	// healthy, a run whose load generator fell behind on the busy machine
	// let the bad release through: too few requests reached green before
	// the 200 ms bake ended.) A bound keeps a starved run from waiting the
	// default 10 minutes; a rollback for want of evidence is reported as a
	// failure of the benchmark, not as the monitor's rollback.
	cfg.InconclusiveTimeout = badReleaseEvidenceTimeout
	cfg.OnInconclusive = bluegreen.InconclusiveRollback
	cfg.Callbacks.OnEvent = func(ev bluegreen.Event) {
		switch {
		case ev.Kind == bluegreen.EventMonitorFired && fired.IsZero():
			fired = time.Now()
		case ev.Kind == bluegreen.EventTrafficVerified && ev.DuringRollback && back.IsZero():
			back = time.Now()
		}
	}
	d, err := bluegreen.New(cfg)
	if err != nil {
		return nil, err
	}
	rev, err := revision("bad", map[string]string{"FAIL_RATE": "0.5"})
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "bad release: 50% of its requests fail; the error-rate monitor should roll it back")
	load := startAttack(url, rate)
	res, err := d.Deploy(ctx, "web", rev)
	load.stop()
	rb := &rollback{Outcome: string(res.Outcome)}
	if res.Rollback != nil {
		rb.Reason = res.Rollback.Reason
	}
	if res.Outcome != bluegreen.OutcomeRolledBack {
		return rb, fmt.Errorf("bad release: outcome %s (%v), want a rollback", res.Outcome, err)
	}
	if fired.IsZero() {
		return rb, fmt.Errorf("bad release: rolled back (%s) without the error-rate alarm firing", rb.Reason)
	}
	if !fired.IsZero() && !back.IsZero() {
		rb.TriggerToBlueMs = float64(back.Sub(fired).Microseconds()) / 1000
	}
	fmt.Fprintf(log, "  rolled back: %s; trigger to blue %.1f ms\n", rb.Reason, rb.TriggerToBlueMs)
	return rb, nil
}

// badReleaseEvidenceTimeout bounds the bad release's wait for the error-rate
// monitor's evidence: at 1,000 requests/s and 25% of them on green, the
// monitor has its 50 requests within a fifth of a second.
const badReleaseEvidenceTimeout = 20 * time.Second

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(a/b*100+0.5)) / 100
}
