package cwmetrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmetrics"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

const (
	tgA = "targetgroup/web-a/1111111111111111"
	tgB = "targetgroup/web-b/2222222222222222"
	lb  = "app/web/50dc6c495c0c9188"
)

var in = bluegreen.MonitorInput{DeploymentID: "d-2", Service: "web",
	Blue:  &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:1"}},
	Green: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:2"}}}

func options(client *cloudwatch.Client) cwmetrics.Options {
	return cwmetrics.Options{
		Client: client,
		Metrics: []cwmetrics.Metric{
			{ID: "errors", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": lb}},
			{ID: "requests", Namespace: "AWS/ApplicationELB", MetricName: "RequestCount", Dimensions: map[string]string{"LoadBalancer": lb}},
		},
		Expression:   "errors * 100 / requests",
		TargetGroups: map[bluegreen.Slot]string{bluegreen.SlotA: tgA, bluegreen.SlotB: tgB},
		Threshold:    5, // percent
		SampleID:     "requests",
		MinSamples:   20,
		Name:         "green-5xx-percent",
	}
}

func put(cw *awsfake.CloudWatch, tg, name string, at time.Time, values ...float64) {
	for _, v := range values {
		cw.PutMetricData(awsfake.MetricDatum{Namespace: "AWS/ApplicationELB", MetricName: name,
			Dimensions: map[string]string{"LoadBalancer": lb, "TargetGroup": tg}, Timestamp: at, Value: v})
	}
}

func TestCheck(t *testing.T) {
	type point struct {
		tg, metric string
		ago        time.Duration
		values     []float64
	}
	tests := []struct {
		name    string
		edit    func(*cwmetrics.Options)
		points  []point
		partial bool
		want    func(now time.Time) bluegreen.Verdict
	}{
		{"healthy", nil, []point{{tgB, "RequestCount", 30 * time.Second, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{2}}},
			false, func(time.Time) bluegreen.Verdict { return bluegreen.Healthy() }},
		{"no 5xx datapoint: no expression datapoint", nil, []point{{tgB, "RequestCount", 30 * time.Second, []float64{100}}},
			false, func(time.Time) bluegreen.Verdict {
				return bluegreen.Inconclusive("green (web:2 in slot B): no datapoints of errors * 100 / requests on " + tgB + " in the last 3m0s")
			}},
		{"above, summed over the period", nil, []point{{tgB, "RequestCount", 30 * time.Second, []float64{50, 50}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{4, 6}}},
			false, func(now time.Time) bluegreen.Verdict {
				return bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-percent",
					Reason: "green (web:2 in slot B): errors * 100 / requests on " + tgB + " was 10 in the period at " + period(now, 30*time.Second) + ", > 5"})
			}},
		{"blue's errors do not count", nil, []point{{tgB, "RequestCount", 30 * time.Second, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{0}},
			{tgA, "RequestCount", 30 * time.Second, []float64{100}}, {tgA, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{100}}},
			false, func(time.Time) bluegreen.Verdict { return bluegreen.Healthy() }},
		{"too few requests", nil, []point{{tgB, "RequestCount", 30 * time.Second, []float64{2}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{1}}},
			false, func(now time.Time) bluegreen.Verdict {
				return bluegreen.Inconclusive("green (web:2 in slot B): requests was 2 in the period at " + period(now, 30*time.Second) + "; 20 are needed")
			}},
		{"latest period judged", nil, []point{
			{tgB, "RequestCount", 150 * time.Second, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 150 * time.Second, []float64{50}},
			{tgB, "RequestCount", 30 * time.Second, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{1}}},
			false, func(time.Time) bluegreen.Verdict { return bluegreen.Healthy() }},
		{"old datapoints are not read", nil, []point{{tgB, "RequestCount", 10 * time.Minute, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 10 * time.Minute, []float64{50}}},
			false, func(time.Time) bluegreen.Verdict {
				return bluegreen.Inconclusive("green (web:2 in slot B): no datapoints of errors * 100 / requests on " + tgB + " in the last 3m0s")
			}},
		{"PartialData without values", nil, []point{{tgB, "RequestCount", 30 * time.Second, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{50}}},
			true, func(time.Time) bluegreen.Verdict {
				return bluegreen.Inconclusive("green (web:2 in slot B): no datapoints of errors * 100 / requests on " + tgB + " in the last 3m0s (CloudWatch answered PartialData)")
			}},
		{"a+b, a/b: one metric, target group by function", func(o *cwmetrics.Options) {
			o.Metrics, o.Expression, o.SampleID, o.MinSamples = o.Metrics[:1], "", "", 0
			o.TargetGroups, o.TargetGroup = nil, func(env bluegreen.Environment) (string, error) {
				return "targetgroup/" + env.Service + "-" + string(env.Slot) + "/1", nil
			}
			o.Threshold = 10
		}, []point{{"targetgroup/web-B/1", "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{11}}},
			false, func(now time.Time) bluegreen.Verdict {
				return bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-percent",
					Reason: "green (web:2 in slot B): HTTPCode_Target_5XX_Count on targetgroup/web-B/1 was 11 in the period at " + period(now, 30*time.Second) + ", > 10"})
			}},
		{"success share below", func(o *cwmetrics.Options) {
			o.Expression, o.Comparison, o.Threshold = "(requests - errors) / requests", cwmetrics.LessThan, 0.99
		}, []point{{tgB, "RequestCount", 30 * time.Second, []float64{100}}, {tgB, "HTTPCode_Target_5XX_Count", 30 * time.Second, []float64{2}}},
			false, func(now time.Time) bluegreen.Verdict {
				return bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-percent",
					Reason: "green (web:2 in slot B): (requests - errors) / requests on " + tgB + " was 0.98 in the period at " + period(now, 30*time.Second) + ", < 0.99"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cw := awsfake.NewCloudWatch()
			client := cloudwatch.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, cw)))
			now := time.Now()
			for _, p := range tt.points {
				put(cw, p.tg, p.metric, now.Add(-p.ago), p.values...)
			}
			cw.SetMetricDataPartial(tt.partial)
			o := options(client)
			if tt.edit != nil {
				tt.edit(&o)
			}
			m, err := cwmetrics.New(o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Check(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(now), got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			if n := cw.Faults.Calls()["GetMetricData"]; n != 1 {
				t.Errorf("%d GetMetricData calls, want 1", n)
			}
		})
	}
}

// period returns the start of the minute period holding now-ago, as the
// fake aligns periods: from the start time (now - 3m, rounded down to the
// minute), whole periods on.
func period(now time.Time, ago time.Duration) string {
	start := now.Truncate(time.Second).Add(-3 * time.Minute).Truncate(time.Minute)
	at := now.Add(-ago)
	return start.Add(at.Sub(start) / time.Minute * time.Minute).UTC().Format(time.RFC3339)
}

func TestCheckErrors(t *testing.T) {
	cw := awsfake.NewCloudWatch()
	client := cloudwatch.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, cw)))
	o := options(client)
	o.Expression = "errors ** requests"
	m, err := cwmetrics.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(t.Context(), in); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("bad expression: %v, want ErrInvalid", err)
	}
	o = options(client)
	o.TargetGroups = map[bluegreen.Slot]string{bluegreen.SlotA: tgA}
	if m, err = cwmetrics.New(o); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(t.Context(), in); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("no target group for B: %v, want ErrInvalid", err)
	}
	cw.Faults.Add(awsfake.Rule{Op: "GetMetricData", Fault: awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not allowed"}})
	if m, err = cwmetrics.New(options(client)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(t.Context(), in); !errors.Is(err, bluegreen.ErrPermission) {
		t.Errorf("access denied: %v, want ErrPermission", err)
	}
}

func TestNewErrors(t *testing.T) {
	client := cloudwatch.NewFromConfig(awsfake.Config("http://127.0.0.1:1"))
	for _, tt := range []struct {
		field string
		edit  func(*cwmetrics.Options)
	}{
		{"Client", func(o *cwmetrics.Options) { o.Client = nil }},
		{"Metrics", func(o *cwmetrics.Options) { o.Metrics = nil }},
		{"Expression", func(o *cwmetrics.Options) { o.Expression = "" }},
		{"TargetGroups", func(o *cwmetrics.Options) { o.TargetGroups = nil }},
		{"Metrics[0].ID", func(o *cwmetrics.Options) { o.Metrics[0].ID = "Errors" }},
		{"Metrics[1].ID", func(o *cwmetrics.Options) { o.Metrics[1].ID = "errors" }},
		{"Metrics[0]", func(o *cwmetrics.Options) { o.Metrics[0].Namespace = "" }},
		{"Period", func(o *cwmetrics.Options) { o.Period = 90 * time.Second }},
		{"Comparison", func(o *cwmetrics.Options) { o.Comparison = "==" }},
		{"SampleID", func(o *cwmetrics.Options) { o.SampleID = "latency" }},
		{"MinSamples", func(o *cwmetrics.Options) { o.SampleID = "" }},
	} {
		o := options(client)
		o.Metrics = append([]cwmetrics.Metric(nil), o.Metrics...)
		tt.edit(&o)
		_, err := cwmetrics.New(o)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != "cwmetrics.Options."+tt.field {
			t.Errorf("%s: New: %v; want a ConfigError for it", tt.field, err)
		}
	}
}

func TestConformance(t *testing.T) {
	bluegreentest.TestMonitor(t, func(t *testing.T) bluegreentest.MonitorHarness {
		cw := awsfake.NewCloudWatch()
		client := cloudwatch.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, cw)))
		o := options(client)
		o.MinSamples = 0
		m, err := cwmetrics.New(o)
		if err != nil {
			t.Fatal(err)
		}
		return bluegreentest.MonitorHarness{Monitor: m, Alarm: "green-5xx-percent", PollInterval: time.Millisecond, Timeout: 10 * time.Second,
			SetAlarm: func(_ context.Context, firing bool) error {
				// A fresh period's worth: the latest datapoint is what counts.
				at := time.Now()
				cw.DeleteMetricData()
				errs := 0.0
				if firing {
					errs = 50
				}
				put(cw, tgB, "RequestCount", at, 100)
				put(cw, tgB, "HTTPCode_Target_5XX_Count", at, errs)
				return nil
			}}
	})
}
