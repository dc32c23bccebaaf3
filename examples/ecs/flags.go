package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
)

// options are the command's flags, and the endpoints tests point the
// clients at.
type options struct {
	cluster, service, taskDefinition, revisionName string
	container                                      string
	containerPort                                  int
	targetGroupA, targetGroupB                     string
	prodRule, prodListener, testRule, testListener string

	hooks       hookFlags
	hookTimeout time.Duration

	alarms            listFlag
	alarmPrefix       string
	ignorePreexisting bool

	table, tableKey string

	shift string
	bake  time.Duration

	launchType, platformVersion string
	subnets, securityGroups     listFlag
	publicIP                    bool
	specFile                    string

	autoScaling, suspendScaleOut                   bool
	healthTimeout, healthInterval, monitorInterval time.Duration
	owner                                          string
	verbose                                        bool

	// endpoints override the SDK's endpoint of each service; not a flag.
	endpoints endpoints
}

// parseFlags parses the command line; usage and errors go to errOut.
func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ecs", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.cluster, "cluster", "", "ECS cluster name or ARN (required)")
	fs.StringVar(&o.service, "service", "", "ECS service name; the service must use the EXTERNAL deployment controller (required)")
	fs.StringVar(&o.taskDefinition, "task-definition", "", "task definition to deploy, family:revision or ARN (required unless -spec names it)")
	fs.StringVar(&o.revisionName, "revision", "", "name of the revision in events and state; the task definition's family:revision if empty")
	fs.StringVar(&o.container, "container", "", "container the target groups send traffic to (required)")
	fs.IntVar(&o.containerPort, "container-port", 0, "port of that container (required)")
	fs.StringVar(&o.targetGroupA, "target-group-a", "", "ARN of slot A's target group (required)")
	fs.StringVar(&o.targetGroupB, "target-group-b", "", "ARN of slot B's target group (required)")
	fs.StringVar(&o.prodRule, "prod-rule", "", "ARN of the production listener rule (or use -prod-listener)")
	fs.StringVar(&o.prodListener, "prod-listener", "", "ARN of the production listener, whose default action routes production traffic")
	fs.StringVar(&o.testRule, "test-rule", "", "ARN of the test listener rule, such as a header-condition rule (optional)")
	fs.StringVar(&o.testListener, "test-listener", "", "ARN of a test listener, whose default action routes test traffic (optional)")
	fs.Var(&o.hooks, "hook", "lifecycle hook `STAGE=FUNCTION`: at STAGE, call the Lambda function (name or ARN) written for ECS hooks (repeatable)")
	fs.DurationVar(&o.hookTimeout, "hook-timeout", 0, "how long a hook may answer IN_PROGRESS before the deployment rolls back (default 1h)")
	fs.Var(&o.alarms, "alarm", "CloudWatch alarm `name` whose ALARM state rolls back (repeatable, or comma-separated)")
	fs.StringVar(&o.alarmPrefix, "alarm-prefix", "", "also watch every CloudWatch alarm whose name starts with this")
	fs.BoolVar(&o.ignorePreexisting, "ignore-preexisting-alarms", false, "ignore alarms already in ALARM when the deployment starts")
	fs.StringVar(&o.table, "table", "", "DynamoDB table holding deployment state and leases (required)")
	fs.StringVar(&o.tableKey, "table-key", "service", "name of the table's string partition key")
	fs.StringVar(&o.shift, "shift", "all-at-once", "production traffic shift: all-at-once, linear:PERCENT:WAIT or canary:PERCENT:WAIT (such as linear:10:1m)")
	fs.DurationVar(&o.bake, "bake", 0, "bake time: how long both revisions run, alarms watched, once the new one has all traffic")
	fs.StringVar(&o.launchType, "launch-type", "", "FARGATE, EC2, EXTERNAL or MANAGED_INSTANCES; the service's if empty")
	fs.StringVar(&o.platformVersion, "platform-version", "", "Fargate platform version, such as LATEST")
	fs.Var(&o.subnets, "subnets", "awsvpc subnet `ids` (comma-separated); required for Fargate")
	fs.Var(&o.securityGroups, "security-groups", "awsvpc security group `ids` (comma-separated)")
	fs.BoolVar(&o.publicIP, "assign-public-ip", false, "give the tasks public IP addresses")
	fs.StringVar(&o.specFile, "spec", "", "JSON file of an ecscompute.Spec (capacity providers, tags...), used instead of the launch flags")
	fs.BoolVar(&o.autoScaling, "auto-scaling", true, "suspend the service's dynamic scale-in during the deployment, and restore it after")
	fs.BoolVar(&o.suspendScaleOut, "suspend-scale-out", false, "also suspend dynamic scale-out during the deployment")
	fs.DurationVar(&o.healthTimeout, "health-timeout", 10*time.Minute, "how long the new task set may take to become healthy")
	fs.DurationVar(&o.healthInterval, "health-interval", 5*time.Second, "how often the new task set's health is read")
	fs.DurationVar(&o.monitorInterval, "monitor-interval", 10*time.Second, "how often alarms are read")
	fs.StringVar(&o.owner, "owner", "", "name of this process in the lease; host name, process id and a random suffix if empty")
	fs.BoolVar(&o.verbose, "v", false, "also print the adapters' log lines (task sets, rules, auto scaling)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	return o, nil
}

// validate reports the first missing or contradictory flag.
func (o options) validate() error {
	required := []struct{ flag, value string }{
		{"cluster", o.cluster}, {"service", o.service}, {"container", o.container},
		{"target-group-a", o.targetGroupA}, {"target-group-b", o.targetGroupB}, {"table", o.table},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return flagError(r.flag, "missing", "it is required; see -help")
		}
	}
	switch {
	case o.containerPort <= 0 || o.containerPort > 65535:
		return flagError("container-port", fmt.Sprintf("%d is not a port", o.containerPort), "give the container port the target groups send traffic to")
	case o.taskDefinition == "" && o.specFile == "":
		return flagError("task-definition", "missing", "name the task definition to deploy, or give -spec")
	case (o.prodRule == "") == (o.prodListener == ""):
		return flagError("prod-rule", "set exactly one of -prod-rule and -prod-listener", "name the production listener rule or listener")
	case o.testRule != "" && o.testListener != "":
		return flagError("test-rule", "both -test-rule and -test-listener are set", "set at most one")
	}
	return nil
}

func flagError(name, problem, fix string) error {
	return &bluegreen.ConfigError{Field: "-" + name, Problem: problem, Fix: fix}
}

// revision builds the revision to deploy: the -spec file, or a Spec made of
// the task definition and launch flags.
func (o options) revision() (bluegreen.Revision, error) {
	var spec ecscompute.Spec
	if o.specFile != "" {
		b, err := os.ReadFile(o.specFile)
		if err != nil {
			return bluegreen.Revision{}, flagError("spec", err.Error(), "give a readable JSON file")
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			return bluegreen.Revision{}, flagError("spec", err.Error(), "see ecscompute.Spec for the fields")
		}
		if o.taskDefinition != "" {
			spec.TaskDefinition = o.taskDefinition
		}
	} else {
		spec = ecscompute.Spec{TaskDefinition: o.taskDefinition, LaunchType: o.launchType, PlatformVersion: o.platformVersion}
		if len(o.subnets) > 0 {
			ip := "DISABLED"
			if o.publicIP {
				ip = "ENABLED"
			}
			spec.NetworkConfiguration = &ecscompute.NetworkConfiguration{AwsvpcConfiguration: &ecscompute.AwsvpcConfiguration{
				Subnets: o.subnets, SecurityGroups: o.securityGroups, AssignPublicIP: ip}}
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return bluegreen.Revision{}, err
	}
	name := o.revisionName
	if name == "" {
		// "arn:aws:ecs:…:task-definition/web:42" and "web:42" are both "web:42".
		name = spec.TaskDefinition[strings.LastIndexByte(spec.TaskDefinition, '/')+1:]
	}
	rev := bluegreen.Revision{Name: name, Spec: raw}
	if _, err := ecscompute.ParseSpec(rev); err != nil {
		return bluegreen.Revision{}, err
	}
	return rev, nil
}

// lifecycleHooks makes one hook per function, bound to the stages the
// -hook flags name for it.
func (o options) lifecycleHooks(client lambdahook.InvokeAPI, log *slog.Logger) ([]bluegreen.LifecycleHook, error) {
	var hooks []bluegreen.LifecycleHook
	for _, h := range o.hooks {
		i := slices.IndexFunc(hooks, func(l bluegreen.LifecycleHook) bool { return l.Name == h.function })
		if i >= 0 {
			hooks[i].Stages = append(hooks[i].Stages, h.stage)
			continue
		}
		hook, err := lambdahook.New(lambdahook.Options{Client: client, Function: h.function, Logger: log})
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, bluegreen.LifecycleHook{Name: h.function, Stages: []bluegreen.Stage{h.stage}, Hook: hook, Timeout: o.hookTimeout})
	}
	return hooks, nil
}

// parseShift reads -shift: all-at-once, linear:PERCENT:WAIT or
// canary:PERCENT:WAIT.
func parseShift(s string) (bluegreen.Shift, error) {
	kind, rest, _ := strings.Cut(s, ":")
	if kind == "all-at-once" && rest == "" {
		return bluegreen.AllAtOnce(), nil
	}
	pct, wait, ok := strings.Cut(rest, ":")
	p, perr := strconv.ParseFloat(pct, 64)
	d, derr := time.ParseDuration(wait)
	if !ok || perr != nil || derr != nil || (kind != "linear" && kind != "canary") {
		return bluegreen.Shift{}, flagError("shift", fmt.Sprintf("%q", s), "use all-at-once, linear:PERCENT:WAIT or canary:PERCENT:WAIT, such as linear:10:1m")
	}
	shift := bluegreen.Linear(p, d)
	if kind == "canary" {
		shift = bluegreen.Canary(p, d)
	}
	if _, err := shift.Resolve("-shift"); err != nil {
		return bluegreen.Shift{}, err
	}
	return shift, nil
}

// listFlag is a flag of values, repeatable and comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// hookFlags are the -hook flags: a stage and the function to call there.
type hookFlags []hookFlag

type hookFlag struct {
	stage    bluegreen.Stage
	function string
}

func (h *hookFlags) String() string {
	var s []string
	for _, f := range *h {
		s = append(s, f.stage.String()+"="+f.function)
	}
	return strings.Join(s, ",")
}

func (h *hookFlags) Set(s string) error {
	name, function, ok := strings.Cut(s, "=")
	if !ok || function == "" {
		return fmt.Errorf("%q: want STAGE=FUNCTION, such as POST_TEST_TRAFFIC_SHIFT=my-smoke-test", s)
	}
	stage, err := bluegreen.ParseStage(name)
	if err != nil {
		return err
	}
	if !stage.TakesHooks() {
		return fmt.Errorf("%s takes no hooks", stage)
	}
	*h = append(*h, hookFlag{stage: stage, function: function})
	return nil
}
