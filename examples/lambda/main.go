// Command lambda deploys new code to an AWS Lambda function, blue/green,
// with aws/lambdaalias: the code is published as a version, callers'
// traffic (through the production alias) shifts to it by the alias's
// weights, an HTTPS smoke test (hooks/httphook) gates the test stage,
// CloudWatch alarms roll it back, and the old version keeps serving until
// the new one has had all traffic for the bake time.
//
//	HOOK_SECRET=... go run ./examples/lambda \
//	  -function orders -s3-bucket my-artifacts -s3-key orders/42.zip -name orders:42 \
//	  -shift linear:10:1m -bake 5m \
//	  -hook-url https://smoke.internal/hooks/orders -alarm orders-errors
//
// Exactly one of -s3-key (with -s3-bucket), -image and -version says what
// to deploy. Credentials and region come from the environment
// (config.LoadDefaultConfig). The IAM permissions needed are in
// aws/iam-policy-lambda.json (and cloudwatch:DescribeAlarms for -alarm).
// State is kept in memory: one deployment per run; see aws/dynamostore to
// share state and a lease across processes.
//
// It exits 0 when the new version is live, 1 when the deployment rolled
// back or failed, and 2 on bad flags. Ctrl-C rolls back.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambda:", err)
		os.Exit(1)
	}
	os.Exit(run(ctx, cfg, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// flags are the command's flags.
type flags struct {
	function, name, alias       string
	bucket, key, image, version string
	shift                       string
	bake                        time.Duration
	hookURL, hookSecretEnv      string
	alarms                      []string
	deleteVersions              bool
}

func parse(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("lambda", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.function, "function", "", "function name or ARN (required)")
	fs.StringVar(&f.name, "name", "", "revision name shown in events, such as orders:42 (default: the code's key, image or version)")
	fs.StringVar(&f.alias, "alias", "live", "production alias")
	fs.StringVar(&f.bucket, "s3-bucket", "", "S3 bucket of the .zip package")
	fs.StringVar(&f.key, "s3-key", "", "S3 key of the .zip package")
	fs.StringVar(&f.image, "image", "", "container image URI")
	fs.StringVar(&f.version, "version", "", "an already published version")
	fs.StringVar(&f.shift, "shift", "linear:10:1m", "all, linear:PERCENT:WAIT or canary:PERCENT:WAIT")
	fs.DurationVar(&f.bake, "bake", 5*time.Minute, "bake time with all traffic on the new version")
	fs.StringVar(&f.hookURL, "hook-url", "", "HTTPS smoke test called at POST_TEST_TRAFFIC_SHIFT (optional)")
	fs.StringVar(&f.hookSecretEnv, "hook-secret-env", "HOOK_SECRET", "environment variable holding the hook's signing secret")
	fs.Func("alarm", "CloudWatch alarm that rolls back (repeatable)", func(s string) error { f.alarms = append(f.alarms, s); return nil })
	fs.BoolVar(&f.deleteVersions, "delete-versions", false, "delete the replaced version at clean-up")
	if err := fs.Parse(args); err != nil {
		return flags{}, err
	}
	if f.function == "" {
		return flags{}, errors.New("-function is required")
	}
	return f, nil
}

// parseShift reads all, linear:P:WAIT or canary:P:WAIT.
func parseShift(s string) (bluegreen.Shift, error) {
	if s == "all" {
		return bluegreen.AllAtOnce(), nil
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return bluegreen.Shift{}, fmt.Errorf("-shift %q: want all, linear:PERCENT:WAIT or canary:PERCENT:WAIT", s)
	}
	p, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return bluegreen.Shift{}, fmt.Errorf("-shift %q: percent: %w", s, err)
	}
	wait, err := time.ParseDuration(parts[2])
	if err != nil {
		return bluegreen.Shift{}, fmt.Errorf("-shift %q: wait: %w", s, err)
	}
	switch parts[0] {
	case "linear":
		return bluegreen.Linear(p, wait), nil
	case "canary":
		return bluegreen.Canary(p, wait), nil
	}
	return bluegreen.Shift{}, fmt.Errorf("-shift %q: want all, linear or canary", s)
}

func run(ctx context.Context, cfg aws.Config, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f, err := parse(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lambda:", err)
		return 2
	}
	shift, err := parseShift(f.shift)
	if err != nil {
		fmt.Fprintln(stderr, "lambda:", err)
		return 2
	}
	spec := lambdaalias.Spec{S3Bucket: f.bucket, S3Key: f.key, ImageURI: f.image, Version: f.version}
	body, _ := json.Marshal(spec)
	rev := bluegreen.Revision{Name: f.name, Spec: body}
	if rev.Name == "" {
		rev.Name = f.function + ":" + f.key + f.image + f.version
	}
	if _, err := lambdaalias.ParseSpec(rev); err != nil {
		fmt.Fprintln(stderr, "lambda:", err)
		return 2
	}
	backend, err := lambdaalias.New(lambdaalias.Options{Client: lambda.NewFromConfig(cfg), Alias: f.alias,
		Function: func(string) string { return f.function }, DeleteVersions: f.deleteVersions})
	if err != nil {
		fmt.Fprintln(stderr, "lambda:", err)
		return 2
	}
	c := bluegreen.Config{Compute: backend, Router: backend, Store: bluegreen.NewMemoryStore(), Shift: shift, BakeTime: f.bake,
		Callbacks: bluegreen.Callbacks{OnEvent: func(ev bluegreen.Event) { printEvent(stdout, ev) }}}
	if f.hookURL != "" {
		hook, err := httphook.New(httphook.Options{URL: f.hookURL, Secret: []byte(getenv(f.hookSecretEnv)),
			AllowHTTP: strings.HasPrefix(f.hookURL, "http://127.0.0.1")})
		if err != nil {
			fmt.Fprintln(stderr, "lambda:", err)
			return 2
		}
		c.Hooks = []bluegreen.LifecycleHook{{Name: "smoke", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}, Hook: hook, Timeout: 15 * time.Minute}}
	}
	if len(f.alarms) > 0 {
		mon, err := cwmonitor.New(cwmonitor.Options{Client: cloudwatch.NewFromConfig(cfg), AlarmNames: f.alarms, IgnorePreexisting: true})
		if err != nil {
			fmt.Fprintln(stderr, "lambda:", err)
			return 2
		}
		c.Monitors = []bluegreen.Monitor{mon}
	}
	d, err := bluegreen.New(c)
	if err != nil {
		fmt.Fprintln(stderr, "lambda:", err)
		return 2
	}
	res, err := d.Deploy(ctx, f.function, rev)
	if err != nil {
		fmt.Fprintf(stderr, "lambda: %s: %v\n", res.Outcome, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s is live on alias %s of %s\n", rev.Name, f.alias, f.function)
	return 0
}

// printEvent prints one line per event: time, stage, kind, and the routes,
// hook answer or reason it carries.
func printEvent(w io.Writer, ev bluegreen.Event) {
	line := fmt.Sprintf("%s %-30s %s", ev.Time.Format(time.TimeOnly), ev.Stage, ev.Kind)
	switch {
	case ev.Routes != nil:
		line += " " + ev.Routes.String()
	case ev.HookStatus != "":
		line += " " + ev.Hook + " " + string(ev.HookStatus)
	case ev.Reason != "":
		line += ": " + ev.Reason
	}
	fmt.Fprintln(w, line)
}
