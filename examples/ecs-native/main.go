// Command ecs-native deploys a task definition revision to an ECS service
// as an ECS-native linear blue/green deployment, with an in-process Go
// smoke test answering ECS's PAUSE hook after the test traffic shift.
//
//	ecs-native -cluster prod -service web -task-definition web:42 -smoke-url http://test.example.com/healthz
//
// It uses the default AWS configuration (environment, shared config, IMDS)
// and keeps the deployment's state in memory; a real deploy tool would use
// a durable bluegreen.Store (dynamostore) so that a crash can be resumed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
)

type options struct {
	cluster, service, taskDef, smokeURL string
	step                                float64
	stepWait, bake                      time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.cluster, "cluster", "default", "ECS cluster")
	flag.StringVar(&o.service, "service", "", "ECS service (deployment controller ECS, load balancer with advancedConfiguration)")
	flag.StringVar(&o.taskDef, "task-definition", "", "task definition to deploy (family:revision or ARN)")
	flag.StringVar(&o.smokeURL, "smoke-url", "", "URL reached through the test listener rule; must answer 2xx")
	flag.Float64Var(&o.step, "step", 10, "linear step percent (3-100)")
	flag.DurationVar(&o.stepWait, "step-wait", time.Minute, "wait after each step (whole minutes)")
	flag.DurationVar(&o.bake, "bake", 5*time.Minute, "bake time (whole minutes)")
	flag.Parse()
	if o.service == "" || o.taskDef == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := run(ctx, ecs.NewFromConfig(cfg), http.DefaultClient, o, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", res.Outcome, err)
		os.Exit(1)
	}
}

// smokeTest is the in-process hook: green must answer 2xx on the test route.
type smokeTest struct {
	client *http.Client
	url    string
}

func (s smokeTest) Run(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return bluegreen.HookResult{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: err.Error()}, nil
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "smoke test: " + resp.Status}, nil
	}
	return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
}

// run deploys o.taskDef and prints the deployment's events to out.
func run(ctx context.Context, client ecsnative.Client, web *http.Client, o options, out io.Writer) (bluegreen.Result, error) {
	engine, err := ecsnative.New(ecsnative.Options{Client: client, Cluster: o.cluster, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return bluegreen.Result{}, err
	}
	cfg := bluegreen.Config{Engine: engine, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(o.step, o.stepWait), BakeTime: o.bake,
		Callbacks: bluegreen.Callbacks{OnEvent: func(ev bluegreen.Event) {
			fmt.Fprintf(out, "%s %s", ev.Kind, ev.Stage)
			if ev.Step > 0 {
				fmt.Fprintf(out, "#%d", ev.Step)
			}
			if ev.Routes != nil {
				fmt.Fprintf(out, " %s", ev.Routes)
			}
			fmt.Fprintln(out)
		}}}
	if o.smokeURL != "" {
		cfg.Hooks = []bluegreen.LifecycleHook{{Name: "smoke", Hook: smokeTest{client: web, url: o.smokeURL},
			Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}, Timeout: 5 * time.Minute}}
	}
	d, err := bluegreen.New(cfg)
	if err != nil {
		return bluegreen.Result{}, err
	}
	return d.Deploy(ctx, o.service, bluegreen.Revision{Name: o.taskDef})
}
