// Command codedeploy deploys a new task definition to an ECS service with
// AWS CodeDeploy's blue/green deployment, driven by bluegreen's
// codedeployengine: CodeDeploy moves the traffic; a Go smoke test runs at
// CodeDeploy's wait before production traffic is rerouted (the deployment
// group needs deploymentReadyOption STOP_DEPLOYMENT), and a failed smoke
// test stops the deployment with a rollback.
//
//	go run ./examples/codedeploy \
//	  -app shop -group web -service web -container web -port 8080 \
//	  -task-definition arn:aws:ecs:us-east-1:123456789012:task-definition/web:42 \
//	  -smoke-url http://test-listener.example.com:8080/healthz -bake 10m
//
// Credentials and region come from config.LoadDefaultConfig. The state
// lives in memory: a crashed run leaves the CodeDeploy deployment to
// finish on its own (use dynamostore to re-attach across processes). It
// exits 0 when the task definition is live, 1 when the deployment rolled
// back or failed, 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/codedeployengine"
)

type options struct {
	service, taskDefinition string
	svc                     codedeployengine.Service
	smokeURL                string
	bake, poll              time.Duration
	shift                   string
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("codedeploy", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.svc.Application, "app", "", "CodeDeploy application (required)")
	fs.StringVar(&o.svc.DeploymentGroup, "group", "", "ECS blue/green deployment group (required)")
	fs.StringVar(&o.service, "service", "web", "service name in bluegreen's events")
	fs.StringVar(&o.svc.ContainerName, "container", "", "container the target groups route to (required)")
	fs.IntVar(&o.svc.ContainerPort, "port", 0, "its port (required)")
	fs.StringVar(&o.taskDefinition, "task-definition", "", "task definition ARN to deploy (required)")
	fs.StringVar(&o.smokeURL, "smoke-url", "", "URL on the test listener that must answer 2xx before production traffic moves")
	fs.StringVar(&o.shift, "shift", "linear", "all-at-once, linear (10% every minute) or canary (10%, then the rest after 5 minutes)")
	fs.DurationVar(&o.bake, "bake", 10*time.Minute, "bake time before the original task set is removed (at most the group's termination wait)")
	fs.DurationVar(&o.poll, "poll", codedeployengine.DefaultPollInterval, "how often the deployment is read")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	switch {
	case fs.NArg() > 0:
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.svc.Application == "" || o.svc.DeploymentGroup == "":
		return options{}, errors.New("-app and -group are required")
	case o.taskDefinition == "":
		return options{}, errors.New("-task-definition is required")
	case o.svc.ContainerName == "" || o.svc.ContainerPort == 0:
		return options{}, errors.New("-container and -port are required")
	}
	return o, nil
}

func (o options) shiftStrategy() (bluegreen.Shift, error) {
	switch o.shift {
	case "all-at-once":
		return bluegreen.AllAtOnce(), nil
	case "linear":
		return bluegreen.Linear(10, time.Minute), nil
	case "canary":
		return bluegreen.Canary(10, 5*time.Minute), nil
	}
	return bluegreen.Shift{}, fmt.Errorf("-shift %q: want all-at-once, linear or canary", o.shift)
}

// smokeTest is the Go hook: the test listener's URL must answer 2xx.
func smokeTest(client *http.Client, url string) bluegreen.Hook {
	return bluegreen.HookFunc(func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return bluegreen.HookResult{}, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: err.Error()}, nil
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "smoke test: " + resp.Status}, nil
		}
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})
}

// run deploys o's task definition and reports progress to out.
func run(ctx context.Context, client codedeployengine.API, httpClient *http.Client, o options, out io.Writer) (bluegreen.Result, error) {
	engine, err := codedeployengine.New(codedeployengine.Options{Client: client, Services: map[string]codedeployengine.Service{o.service: o.svc}, PollInterval: o.poll})
	if err != nil {
		return bluegreen.Result{}, err
	}
	shift, err := o.shiftStrategy()
	if err != nil {
		return bluegreen.Result{}, err
	}
	var hooks []bluegreen.LifecycleHook
	if o.smokeURL != "" {
		hooks = append(hooks, bluegreen.LifecycleHook{Name: "smoke", Hook: smokeTest(httpClient, o.smokeURL), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}})
	}
	d, err := bluegreen.New(bluegreen.Config{Engine: engine, Store: bluegreen.NewMemoryStore(), Shift: shift, BakeTime: o.bake, Hooks: hooks,
		Callbacks: bluegreen.Callbacks{OnEvent: func(ev bluegreen.Event) {
			switch ev.Kind {
			case bluegreen.EventStageStarted, bluegreen.EventHookAnswered, bluegreen.EventRollbackStarted:
				fmt.Fprintf(out, "%s %s %s %s\n", ev.Time.Format(time.TimeOnly), ev.Kind, ev.Stage, ev.Reason)
			}
		}}})
	if err != nil {
		return bluegreen.Result{}, err
	}
	spec := fmt.Appendf(nil, `{"taskDefinition":%q}`, o.taskDefinition)
	return d.Deploy(ctx, o.service, bluegreen.Revision{Name: o.taskDefinition, Spec: spec})
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "codedeploy:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codedeploy:", err)
		os.Exit(1)
	}
	res, err := run(ctx, codedeploy.NewFromConfig(cfg), &http.Client{Timeout: 10 * time.Second}, o, os.Stdout)
	fmt.Printf("%s: %s\n", res.Outcome, res.Green)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codedeploy:", err)
		os.Exit(1)
	}
}
