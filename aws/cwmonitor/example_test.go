package cwmonitor_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
)

// This example watches a service's rollback alarms during its deployments.
// It is not run: it needs AWS credentials.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	monitor, err := cwmonitor.New(cwmonitor.Options{
		Client:          cloudwatch.NewFromConfig(cfg),
		AlarmNames:      []string{"web-5xx-rate", "web-p99-latency"},
		AlarmNamePrefix: "web-rollback-",
	})
	if err != nil {
		log.Fatal(err)
	}
	deployerConfig := bluegreen.Config{
		// Compute, Router and Store: see the aws/ecscompute, aws/elbrouter and aws/dynamostore packages.
		Monitors:        []bluegreen.Monitor{monitor},
		MonitorInterval: 30 * time.Second,
		BakeTime:        10 * time.Minute,
	}
	if _, err := bluegreen.New(deployerConfig); err != nil {
		log.Fatal(err)
	}
}

// This example checks an in-process CloudWatch whose alarm fires.
func ExampleMonitor_Check() {
	fake := awsfake.NewCloudWatch()
	fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "web-5xx-rate", State: awsfake.AlarmOK})
	url, closeServer := awsfake.Serve(fake)
	defer closeServer()

	monitor, err := cwmonitor.New(cwmonitor.Options{
		Client:     cloudwatch.NewFromConfig(awsfake.Config(url)),
		AlarmNames: []string{"web-5xx-rate"},
	})
	if err != nil {
		log.Fatal(err)
	}
	in := bluegreen.MonitorInput{DeploymentID: "d-1", Stage: bluegreen.StageBakeTime}
	v, err := monitor.Check(context.Background(), in)
	fmt.Println(v.State, v.Alarms, err)

	if err := fake.SetAlarmState("web-5xx-rate", awsfake.AlarmAlarm, "Threshold Crossed: 5xx rate 7.5% > 5%", time.Now()); err != nil {
		log.Fatal(err)
	}
	v, err = monitor.Check(context.Background(), in)
	fmt.Println(v.State, v.Alarms, err)
	// Output:
	// HEALTHY [] <nil>
	// ALARM [{web-5xx-rate Threshold Crossed: 5xx rate 7.5% > 5%}] <nil>
}
