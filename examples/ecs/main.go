// Command ecs deploys a new task definition to an Amazon ECS service,
// blue/green, with bluegreen's AWS adapters: the new revision runs as a task
// set of the service (which must use the EXTERNAL deployment controller),
// traffic moves between two target groups through an ALB or NLB listener
// rule, Lambda functions written for ECS lifecycle hooks gate the stages,
// CloudWatch alarms roll it back, and a DynamoDB table keeps the state and
// the lease, so a deployment interrupted anywhere is settled by the next.
//
//	go run ./examples/ecs \
//	  -cluster prod -service web -task-definition web:42 \
//	  -container app -container-port 8080 \
//	  -target-group-a arn:aws:elasticloadbalancing:...:targetgroup/web-a/... \
//	  -target-group-b arn:aws:elasticloadbalancing:...:targetgroup/web-b/... \
//	  -prod-rule arn:aws:elasticloadbalancing:...:listener-rule/app/... \
//	  -test-rule arn:aws:elasticloadbalancing:...:listener-rule/app/... \
//	  -hook POST_TEST_TRAFFIC_SHIFT=web-smoke-test \
//	  -alarm web-5xx-rate -alarm web-p99-latency \
//	  -table bluegreen-state -shift linear:10:1m -bake 5m \
//	  -launch-type FARGATE -subnets subnet-0abc,subnet-0def -security-groups sg-0abc
//
// Credentials and region come from the environment, the shared config
// files or the instance role (config.LoadDefaultConfig); an endpoint of one
// service can be overridden with AWS_ENDPOINT_URL_<SERVICE>, as for any SDK
// program. The IAM permissions needed are in aws/iam-policy.json.
//
// It prints a line per notable event and a final result, and exits 0 when
// the new revision is live, 1 when the deployment rolled back or failed,
// and 2 on bad flags. Interrupting it (Ctrl-C) rolls the deployment back.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
)

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = o.validate() // before reaching for credentials
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecs:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecs: loading the AWS configuration:", err)
		os.Exit(1)
	}
	if err := run(ctx, cfg, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ecs:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is the process's exit status after run returned err.
func exitCode(err error) int {
	var ce *bluegreen.ConfigError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return 2
	}
	return 1
}

// run deploys o's revision with the AWS clients made from cfg (and
// o.endpoints), printing progress to out. It returns nil once the revision
// is live, and an error that satisfies errors.Is(err, bluegreen.ErrRolledBack)
// after a rollback.
func run(ctx context.Context, cfg aws.Config, o options, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	rev, err := o.revision()
	if err != nil {
		return err
	}
	shift, err := parseShift(o.shift)
	if err != nil {
		return err
	}
	logLevel := slog.LevelWarn
	if o.verbose {
		logLevel = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: logLevel}))
	c := newClients(cfg, o.endpoints)

	services := map[string]ecscompute.Service{o.service: {Cluster: o.cluster, Name: o.service,
		TargetGroupA: o.targetGroupA, TargetGroupB: o.targetGroupB, ContainerName: o.container, ContainerPort: int32(o.containerPort),
		SuspendScaleOut: o.suspendScaleOut}}
	computeOpts := ecscompute.Options{ECS: c.ecs, ELB: c.elb, Services: services, Logger: log}
	if o.autoScaling {
		computeOpts.AutoScaling = c.scaling
	}
	compute, err := ecscompute.New(computeOpts)
	if err != nil {
		return err
	}
	router, err := elbrouter.New(elbrouter.Options{Client: c.elb, Logger: log, Services: map[string]elbrouter.Service{o.service: {
		ProductionRuleARN: o.prodRule, ProductionListenerARN: o.prodListener, TestRuleARN: o.testRule, TestListenerARN: o.testListener,
		TargetGroupA: o.targetGroupA, TargetGroupB: o.targetGroupB}}})
	if err != nil {
		return err
	}
	store, err := dynamostore.New(dynamostore.Options{Client: c.dynamo, Table: o.table, KeyAttribute: o.tableKey})
	if err != nil {
		return err
	}
	hooks, err := o.lifecycleHooks(c.lambda, log)
	if err != nil {
		return err
	}
	var monitors []bluegreen.Monitor
	if len(o.alarms) > 0 || o.alarmPrefix != "" {
		m, err := cwmonitor.New(cwmonitor.Options{Client: c.cloudwatch, AlarmNames: o.alarms, AlarmNamePrefix: o.alarmPrefix,
			IgnorePreexisting: o.ignorePreexisting, Logger: log})
		if err != nil {
			return err
		}
		monitors = append(monitors, m)
	}
	d, err := bluegreen.New(bluegreen.Config{
		Compute: compute, Router: router, Store: store, Hooks: hooks, Monitors: monitors,
		Shift: shift, BakeTime: o.bake,
		HealthTimeout: o.healthTimeout, HealthInterval: o.healthInterval, MonitorInterval: o.monitorInterval,
		Owner: o.owner, Logger: log,
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "deploying %s to ECS service %s in cluster %s: %s, bake time %v\n", rev.Name, o.service, o.cluster, o.shift, o.bake)
	dep, err := d.Start(ctx, o.service, rev)
	if err != nil {
		return err
	}
	p := &progress{out: out, start: time.Now(), targetGroups: map[bluegreen.Slot]string{
		bluegreen.SlotA: o.targetGroupA, bluegreen.SlotB: o.targetGroupB}}
	// Watch to the end even after ctx is canceled: the deployment then
	// rolls back, and that is worth seeing.
	for ev, err := range dep.Events(context.WithoutCancel(ctx)) {
		if err != nil {
			return err
		}
		p.event(ev)
	}
	res, err := dep.Wait(context.WithoutCancel(ctx))
	p.result(res, err)
	return err
}
