package cwmetrics_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/cwmetrics"
)

// Roll back when more than 5% of green's requests, per minute, answer 5xx,
// once green serves 20 requests a minute.
func Example() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lb := map[string]string{"LoadBalancer": "app/web/50dc6c495c0c9188"}
	mon, err := cwmetrics.New(cwmetrics.Options{
		Client: cloudwatch.NewFromConfig(cfg),
		Metrics: []cwmetrics.Metric{
			{ID: "errors", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Stat: "Sum", Dimensions: lb},
			{ID: "requests", Namespace: "AWS/ApplicationELB", MetricName: "RequestCount", Stat: "Sum", Dimensions: lb},
		},
		Expression: "errors * 100 / requests",
		TargetGroups: map[bluegreen.Slot]string{
			bluegreen.SlotA: "targetgroup/web-a/73e2d6bc24d8a067",
			bluegreen.SlotB: "targetgroup/web-b/0e5b1c1a4b2f3d11",
		},
		Comparison: cwmetrics.GreaterThan,
		Threshold:  5,
		SampleID:   "requests",
		MinSamples: 20,
		Name:       "green-5xx-percent",
	})
	if err != nil {
		log.Fatal(err)
	}
	// bluegreen.Config{Monitors: []bluegreen.Monitor{mon}, ...}
	fmt.Println(mon.Name(), "needs", mon.Evidence())
	// Output: green-5xx-percent needs requests at least 20 in a 1m0s period on green's target group
}
