// Command local is bluegreen's demo and the README's main job: a real
// blue/green deployment on this host, with no cloud account.
//
//	go run ./examples/local
//
// It builds the sample app (examples/app), starts the built-in proxy, and
// deploys three revisions with the local backend (processes on loopback
// ports) and a file store, under a constant-rate load through the proxy from
// the moment the first one is live:
//
//  1. v1, the service's first deployment;
//  2. v2, with a test hook that checks green through the test listener, a
//     linear shift of 25% every 2 seconds, and a 3-second bake time;
//  3. v3, a bad release answering 30% of requests with 500, which the
//     proxy's error-rate monitor rolls back automatically;
//  4. a release group (Deployer.StartGroup) of two more services, "api"
//     and "worker", each the sample app behind the same proxy, reached by
//     host name (api.localhost, worker.localhost): their v1 deployed
//     together, then the group's v2, linear 25% steps, each member watched
//     by the error-rate monitor on its own requests; the worker's v2 fails
//     half its requests, its monitor fires, and both members are rolled
//     back, api's healthy green too. The load moves from the first service
//     to these two, each at the same rate, once their v1 is live.
//
// It shows live progress (stage, traffic split, requests/s, errors) on a
// terminal, plain lines otherwise, writes an SVG timeline of each deployment
// (package timeline: stages, weights, hooks, the monitor and the rollback,
// and the proxy's requests and errors per second per environment; a lane
// per member, and the group's own, for the group) and prints its path, and
// ends with a one-line JSON summary: per deployment its outcome, stages,
// requests served by blue and by green, failed requests, and for the
// rollback the time from the monitor's trigger to all production traffic
// back on blue; per group deployment the same, with the member that
// triggered the rollback and each member's live revision afterwards.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
	"github.com/bluegreen-go/bluegreen/local/filestore"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/timeline"
	"golang.org/x/term"
)

// options tune the demo; the defaults make the README's run.
type options struct {
	rate      int           // requests per second through the proxy, to each service loaded
	step      time.Duration // linear step wait
	bake      time.Duration // bake time
	plain     bool          // plain lines even on a terminal
	keepFiles bool          // keep the work directory (logs, state)
	// svgDir receives one SVG timeline per deployment; default: the work
	// directory's timelines/ with -keep, else a directory of its own that
	// is kept.
	svgDir string
}

func main() {
	var o options
	flag.IntVar(&o.rate, "rate", 200, "requests per second sent through the proxy (to each service of the group)")
	flag.DurationVar(&o.step, "step", 2*time.Second, "wait after each 25% production step")
	flag.DurationVar(&o.bake, "bake", 3*time.Second, "bake time")
	flag.BoolVar(&o.plain, "plain", false, "print plain lines even on a terminal")
	flag.BoolVar(&o.keepFiles, "keep", false, "keep the work directory (instance logs, state files)")
	flag.StringVar(&o.svgDir, "svg", "", "directory for the deployments' SVG timelines (default: the work directory with -keep, else a new temporary one)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sum, err := run(ctx, os.Stdout, !o.plain && term.IsTerminal(int(os.Stdout.Fd())), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(sum)
	fmt.Println(string(b))
}

// summary is the final JSON line.
type summary struct {
	Deployments []deploymentSummary `json:"deployments"`
	// Groups are the release group's deployments.
	Groups   []groupSummary `json:"groups"`
	Requests int            `json:"requests"`
	Failed   int            `json:"failed"`
	Seconds  float64        `json:"seconds"`
}

type deploymentSummary struct {
	Revision    string   `json:"revision"`
	Outcome     string   `json:"outcome"`
	Stages      []string `json:"stages"`
	ServedBlue  int      `json:"servedByBlue"`
	ServedGreen int      `json:"servedByGreen"`
	Failed      int      `json:"failed"`
	AppErrors   int      `json:"app5xx"`
	Rollback    string   `json:"rollbackReason,omitempty"`
	// Timeline is the SVG picture of the deployment.
	Timeline string `json:"timeline"`
	// RollbackMillis is the time from the monitor's trigger to all
	// production traffic verified back on blue.
	RollbackMillis float64 `json:"rollbackMs,omitempty"`
}

func run(ctx context.Context, out io.Writer, terminal bool, o options) (summary, error) {
	started := time.Now()
	dir, err := os.MkdirTemp("", "bluegreen-demo-")
	if err != nil {
		return summary{}, err
	}
	if o.keepFiles {
		fmt.Fprintln(out, "work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	svgDir := o.svgDir
	switch {
	case svgDir == "" && o.keepFiles:
		svgDir = filepath.Join(dir, "timelines")
	case svgDir == "":
		if svgDir, err = os.MkdirTemp("", "bluegreen-demo-timelines-"); err != nil {
			return summary{}, err
		}
	}
	if err := os.MkdirAll(svgDir, 0o755); err != nil {
		return summary{}, err
	}
	app := filepath.Join(dir, "app")
	fmt.Fprintln(out, "building the sample app (examples/app)...")
	build := exec.CommandContext(ctx, "go", "build", "-o", app, "github.com/bluegreen-go/bluegreen/examples/app")
	if b, err := build.CombinedOutput(); err != nil {
		return summary{}, fmt.Errorf("building the sample app: %v\n%s", err, b)
	}

	px, err := proxy.New(proxy.Options{
		Addr: "127.0.0.1:0", TestAddr: "127.0.0.1:0",
		Defaults: proxy.ServiceConfig{
			HealthCheck:         proxy.HealthCheck{Path: "/healthz", Interval: 500 * time.Millisecond, Timeout: 250 * time.Millisecond},
			DeregistrationDelay: 5 * time.Second,
		},
		// Green answering more than 5% of its latest 200 requests with 5xx
		// (after at least 40) rolls it back.
		ErrorRate: proxy.ErrorRate{Name: "green-5xx-rate", MaxRate: 0.05, Window: 200, MinRequests: 40},
	})
	if err != nil {
		return summary{}, err
	}
	if err := px.Start(); err != nil {
		return summary{}, err
	}
	defer px.Close()

	// The proxy is the backend's Targets: removing a slot's addresses waits
	// for its requests in flight before the backend stops the processes.
	compute, err := local.New(local.Options{LogDir: filepath.Join(dir, "logs"), Targets: px})
	if err != nil {
		return summary{}, err
	}
	defer compute.Close()
	store, err := filestore.Open(filepath.Join(dir, "state"), nil)
	if err != nil {
		return summary{}, err
	}

	// The load starts once v1 is live: before that, the proxy has nowhere
	// to send requests and answers 503.
	ld := newLoad("http://"+px.Addr()+"/", "", o.rate)
	stopLoad := func() {}
	defer func() { stopLoad() }()

	prog := &progress{out: out, terminal: terminal}
	tickCtx, stopTicks := context.WithCancel(ctx)
	var ticking sync.WaitGroup
	ticking.Go(func() {
		ticker := time.NewTicker(250 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case now := <-ticker.C:
				prog.tick(now)
			case <-tickCtx.Done():
				return
			}
		}
	})
	defer func() { stopTicks(); ticking.Wait(); prog.end() }()
	fmt.Fprintf(out, "proxy: production http://%s/, test http://%s/; load %d req/s\n", px.Addr(), px.TestAddr(), o.rate)

	base := bluegreen.Config{
		Compute: compute, Router: px, Store: store,
		HealthInterval: 100 * time.Millisecond, HealthTimeout: 20 * time.Second,
		VerifyInterval: 10 * time.Millisecond, MonitorInterval: 200 * time.Millisecond,
		Callbacks: bluegreen.Callbacks{OnEvent: prog.event},
	}
	testHook := bluegreen.LifecycleHook{Name: "test-traffic-check", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
		Hook: greenAnswersTests("http://" + px.TestAddr() + "/"), Timeout: 10 * time.Second}

	plan := []struct {
		title string
		rev   string
		env   map[string]string
		mod   func(*bluegreen.Config)
	}{
		{"v1: first deployment", "v1", nil, func(c *bluegreen.Config) {}},
		{"v2: test hook, linear 25% every step, bake time", "v2", nil, func(c *bluegreen.Config) {
			c.Shift, c.BakeTime, c.Hooks = bluegreen.Linear(25, o.step), o.bake, []bluegreen.LifecycleHook{testHook}
		}},
		{"v3: a bad release (30% of requests fail), watched by the error-rate monitor", "v3", map[string]string{"FAIL_RATE": "0.3"}, func(c *bluegreen.Config) {
			c.Shift, c.BakeTime, c.Monitors = bluegreen.Linear(25, o.step), o.bake, []bluegreen.Monitor{px}
		}},
	}
	var sum summary
	for i, p := range plan {
		if i == 1 {
			stopLoad = sync.OnceFunc(ld.start(ctx))
		}
		cfg := base
		p.mod(&cfg)
		d, err := bluegreen.New(cfg)
		if err != nil {
			return sum, err
		}
		rev, err := local.Spec{Command: app, Env: p.env, Instances: 2,
			Readiness: local.Readiness{Path: "/healthz"}, StopTimeout: local.Duration(5 * time.Second)}.Revision(p.rev)
		if err != nil {
			return sum, err
		}
		t := newTally()
		ld.current.Store(t)
		green := bluegreen.SlotA
		if rec, err := bluegreen.ReadState(ctx, store, "web"); err == nil && rec.Live != nil {
			green = rec.Live.Slot.Other()
		}
		prog.begin(p.title, green, false, ld)
		sampling, stopSampling := context.WithCancel(ctx)
		samples := make(chan []timeline.Sample, 1)
		go func() { samples <- sampleProxy(sampling, px, "web") }()
		dep, err := d.Start(ctx, "web", rev)
		if err != nil {
			stopSampling()
			<-samples
			return sum, err
		}
		var evs []bluegreen.Event
		for ev, err := range dep.Events(ctx) {
			if err != nil {
				stopSampling()
				<-samples
				return sum, err
			}
			evs = append(evs, ev)
		}
		stopSampling()
		res, derr := dep.Wait(ctx)
		prog.end()
		if res.Outcome == bluegreen.OutcomeFailed {
			<-samples
			return sum, derr
		}
		ds := summarize(p.rev, res, evs, t)
		ds.Timeline = filepath.Join(svgDir, fmt.Sprintf("%d-%s.svg", i+1, p.rev))
		if err := writeTimeline(ds.Timeline, evs, <-samples, timeline.Options{Title: p.title, Service: "web"}); err != nil {
			return sum, err
		}
		prog.note("timeline: " + ds.Timeline)
		sum.Deployments = append(sum.Deployments, ds)
	}
	stopLoad()

	// The release group: api and worker, deployed and rolled back as one.
	gs, err := runGroup(ctx, groupEnv{px: px, store: store, base: base, app: app, svgDir: svgDir, prog: prog, o: o}, len(plan)+1)
	sum.Groups = gs
	if err != nil {
		return sum, err
	}
	stopTicks()
	ticking.Wait()
	prog.end()
	for i := range sum.Deployments {
		sum.Requests += sum.Deployments[i].ServedBlue + sum.Deployments[i].ServedGreen + sum.Deployments[i].Failed
		sum.Failed += sum.Deployments[i].Failed
	}
	for _, g := range sum.Groups {
		for _, m := range g.Members {
			sum.Requests += m.ServedBlue + m.ServedGreen + m.Failed
			sum.Failed += m.Failed
		}
	}
	sum.Seconds = time.Since(started).Round(10 * time.Millisecond).Seconds()
	return sum, nil
}

// summarize describes one deployment for the final JSON line.
func summarize(rev string, res bluegreen.Result, evs []bluegreen.Event, t *tally) deploymentSummary {
	_, failed, appErrors, byVersion := t.snapshot()
	s := deploymentSummary{Revision: rev, Outcome: string(res.Outcome), Failed: failed, AppErrors: appErrors,
		ServedGreen: byVersion[res.Green.Revision.Name]}
	if res.Blue != nil {
		s.ServedBlue = byVersion[res.Blue.Revision.Name]
	}
	var fired time.Time
	for _, ev := range evs {
		switch {
		case ev.Kind == bluegreen.EventStageStarted && (len(s.Stages) == 0 || s.Stages[len(s.Stages)-1] != ev.Stage.String()):
			s.Stages = append(s.Stages, ev.Stage.String())
		case ev.Kind == bluegreen.EventMonitorFired:
			fired = ev.Time
		case ev.Kind == bluegreen.EventTrafficVerified && ev.DuringRollback && !fired.IsZero():
			s.RollbackMillis = float64(ev.Time.Sub(fired).Microseconds()) / 1000
		}
	}
	if res.Rollback != nil {
		s.Rollback = res.Rollback.Reason
	}
	return s
}

// sampleProxy reads the proxy's request and error counters of both slots
// of each service every 100ms until ctx is done, for the timeline (whose
// lane of the service's name, or its only lane, draws them).
func sampleProxy(ctx context.Context, px *proxy.Proxy, services ...string) []timeline.Sample {
	var out []timeline.Sample
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, service := range services {
			for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
				if m, err := px.Metrics(context.WithoutCancel(ctx), service, slot); err == nil {
					out = append(out, timeline.Sample{Time: time.Now(), Member: service, Slot: slot, Requests: m.Requests, Errors: m.Errors})
				}
			}
		}
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

// writeTimeline writes the SVG timeline of a deployment to path.
func writeTimeline(path string, evs []bluegreen.Event, samples []timeline.Sample, opts timeline.Options) error {
	var b bytes.Buffer
	opts.Samples = samples
	if err := timeline.Write(&b, evs, opts); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// greenAnswersTests is a POST_TEST_TRAFFIC_SHIFT hook: it sends requests to
// the test listener and succeeds when green answers them all.
func greenAnswersTests(url string) bluegreen.HookFunc {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		for i := range 20 {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return bluegreen.HookResult{}, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: fmt.Sprintf("test request %d: %v", i, err)}, nil
			}
			resp.Body.Close()
			if v := resp.Header.Get("X-Version"); resp.StatusCode != http.StatusOK || v != in.Green.Revision.Name {
				return bluegreen.HookResult{Status: bluegreen.HookFailed,
					Reason: fmt.Sprintf("test request %d: status %d from %q, want 200 from %s", i, resp.StatusCode, v, in.Green.Revision.Name)}, nil
			}
		}
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded, Reason: "20 test requests answered by green"}, nil
	}
}
