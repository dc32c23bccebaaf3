package promonitor_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/monitors/promonitor"
)

// A stand-in for a Prometheus server, so that the example runs: it answers
// every query with green's 5xx ratio (3%) or its request count (250).
func examplePrometheus() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		value := "0.03"
		if q := r.FormValue("query"); len(q) > 3 && q[:3] == "sum" {
			value = "250"
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"slot":"B"},"value":[%d,%q]}]}}`,
			time.Now().Unix(), value)
	}))
}

// A monitor that rolls back when green's 5xx ratio over two minutes is
// above 2%, once green has served at least 100 requests.
func Example() {
	prom := examplePrometheus() // in production: your Prometheus, such as "http://prometheus:9090"
	defer prom.Close()

	mon, err := promonitor.New(promonitor.Options{
		URL:            prom.URL,
		Name:           "green-5xx-ratio",
		Query:          `rate(http_requests_total{job="web",slot={{quote .Slot}},code=~"5.."}[2m]) / rate(http_requests_total{job="web",slot={{quote .Slot}}}[2m])`,
		Comparison:     promonitor.GreaterThan,
		Threshold:      0.02,
		MinSampleQuery: `sum(increase(http_requests_total{job="web",slot={{quote .Slot}}}[2m]))`,
		MinSamples:     100,
		Timeout:        5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The Deployer calls Check between traffic steps and during the bake
	// time: bluegreen.Config{Monitors: []bluegreen.Monitor{mon}, ...}.
	v, err := mon.Check(context.Background(), bluegreen.MonitorInput{
		Service: "web",
		Green:   bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:42"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.State)
	fmt.Println(v.Alarms[0].Name)
	// Output:
	// ALARM
	// green-5xx-ratio
}

// Judging green against blue: green may be at most 1.5 times as bad as
// blue plus half a point; on a first deployment, 2% applies.
func Example_compareToBlue() {
	prom := examplePrometheus()
	defer prom.Close()

	mon, err := promonitor.New(promonitor.Options{
		URL:       prom.URL,
		Query:     `sum(rate(http_requests_total{job="web",slot={{quote .Slot}},code=~"5.."}[5m])) / sum(rate(http_requests_total{job="web",slot={{quote .Slot}}}[5m]))`,
		Threshold: 0.02,
		Blue:      &promonitor.BlueComparison{Factor: 1.5, Margin: 0.005},
		// Mimir or Cortex: the tenant, and a token.
		Header:      http.Header{"X-Scope-OrgID": {"team-web"}},
		BearerToken: "token",
	})
	if err != nil {
		log.Fatal(err)
	}
	v, err := mon.Check(context.Background(), bluegreen.MonitorInput{
		Service: "web",
		Blue:    &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:41"}},
		Green:   bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:42"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.State) // 3% against blue's 3% × 1.5 + 0.5%
	// Output: HEALTHY
}
