package cwmonitor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

func newMonitor(t *testing.T, fake *awsfake.CloudWatch, o cwmonitor.Options) *cwmonitor.Monitor {
	t.Helper()
	o.Client = cloudwatch.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
	m, err := cwmonitor.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConformance(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("IgnorePreexisting=%v", ignore), func(t *testing.T) {
			bluegreentest.TestMonitor(t, func(t *testing.T) bluegreentest.MonitorHarness {
				fake := awsfake.NewCloudWatch()
				fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "web-5xx", State: awsfake.AlarmOK})
				return bluegreentest.MonitorHarness{
					Monitor: newMonitor(t, fake, cwmonitor.Options{AlarmNames: []string{"web-5xx"}, IgnorePreexisting: ignore}),
					Alarm:   "web-5xx",
					SetAlarm: func(_ context.Context, firing bool) error {
						state, reason := awsfake.AlarmOK, "Threshold Crossed: no datapoints were greater than the threshold"
						if firing {
							state, reason = awsfake.AlarmAlarm, "Threshold Crossed: 1 datapoint [7.5] was greater than the threshold (5.0)"
						}
						return fake.SetAlarmState("web-5xx", state, reason, time.Now())
					},
				}
			})
		})
	}
}

// TestPreexistingAlarms plays timelines against a Monitor that counts
// alarms already firing (the default) and one that ignores those that were
// in ALARM before the deployment's start (MonitorInput.Started).
func TestPreexistingAlarms(t *testing.T) {
	t0 := time.Date(2025, 7, 10, 13, 0, 0, 0, time.UTC)
	started := func(d time.Duration) *time.Time { s := t0.Add(d); return &s }
	type step struct {
		at         time.Duration // since t0
		set        string        // "alarm", "ok", "reason": change the alarm at this time
		check      string        // deployment id to check, if any
		started    *time.Time    // the deployment's start; nil: zero
		restart    bool          // check with a new Monitor, as a restarted process would
		wantFiring bool
	}
	tests := []struct {
		name   string
		ignore bool
		steps  []step
	}{
		{"default: an alarm firing before the start fires", false, []step{
			{at: -time.Hour, set: "alarm"},
			{at: 0, check: "d-1", started: started(0), wantFiring: true},
		}},
		{"ignore: an alarm firing since before the start is ignored", true, []step{
			{at: -time.Hour, set: "alarm"},
			{at: 0, check: "d-1", started: started(0), wantFiring: false},
			{at: time.Minute, set: "reason"}, // a new reason is not a new state
			{at: 2 * time.Minute, check: "d-1", started: started(0), wantFiring: false},
		}},
		{"ignore: it fires again once it has been OK", true, []step{
			{at: -time.Hour, set: "alarm"},
			{at: 0, check: "d-1", started: started(0), wantFiring: false},
			{at: time.Minute, set: "ok"},
			{at: 2 * time.Minute, set: "alarm"},
			{at: 3 * time.Minute, check: "d-1", started: started(0), wantFiring: true},
		}},
		{"ignore: an alarm raised after the start but before the first check fires", true, []step{
			{at: time.Minute, set: "alarm"},
			{at: 10 * time.Minute, check: "d-1", started: started(0), wantFiring: true},
		}},
		{"ignore: an alarm raised in the start's millisecond fires", true, []step{
			{at: 0, set: "alarm"},
			{at: time.Minute, check: "d-1", started: started(400 * time.Microsecond), wantFiring: true},
		}},
		{"ignore: each deployment has its own start", true, []step{
			{at: time.Minute, set: "alarm"},
			{at: 3 * time.Minute, check: "d-2", started: started(2 * time.Minute), wantFiring: false},
			{at: 3 * time.Minute, check: "d-1", started: started(0), wantFiring: true},
		}},
		{"ignore: a restarted process answers the same", true, []step{
			{at: -time.Hour, set: "alarm"},
			{at: 0, check: "d-1", started: started(0), wantFiring: false},
			{at: time.Minute, check: "d-1", started: started(0), restart: true, wantFiring: false},
			{at: 2 * time.Minute, set: "ok"},
			{at: 3 * time.Minute, set: "alarm"},
			{at: 4 * time.Minute, check: "d-1", started: started(0), restart: true, wantFiring: true},
		}},
		{"ignore: an unknown start ignores nothing", true, []step{
			{at: -time.Hour, set: "alarm"},
			{at: 0, check: "d-1", wantFiring: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewCloudWatch()
			fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "web-5xx", State: awsfake.AlarmOK, Updated: t0.Add(-24 * time.Hour)})
			url := awsfake.ServeTest(t, fake)
			newMonitor := func() *cwmonitor.Monitor {
				m, err := cwmonitor.New(cwmonitor.Options{Client: cloudwatch.NewFromConfig(awsfake.Config(url)),
					AlarmNames: []string{"web-5xx"}, IgnorePreexisting: tt.ignore})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			m := newMonitor()
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				a, _ := fake.Alarm("web-5xx")
				switch s.set {
				case "alarm":
					a.State, a.Reason = awsfake.AlarmAlarm, "5xx > 5%"
				case "ok":
					a.State, a.Reason = awsfake.AlarmOK, "fine"
				case "reason":
					a.Reason = "5xx > 7%"
				}
				if s.set != "" {
					if err := fake.SetAlarmState("web-5xx", a.State, a.Reason, now); err != nil {
						t.Fatal(err)
					}
				}
				if s.check == "" {
					continue
				}
				if s.restart {
					m = newMonitor()
				}
				in := bluegreen.MonitorInput{DeploymentID: s.check}
				if s.started != nil {
					in.Started = *s.started
				}
				v, err := m.Check(t.Context(), in)
				if err != nil {
					t.Fatalf("step %d: Check: %v", i, err)
				}
				if got := v.State == bluegreen.MonitorAlarm; got != s.wantFiring {
					t.Errorf("step %d (%v, %s): firing = %v (%+v), want %v", i, s.at, s.check, got, v, s.wantFiring)
				}
			}
		})
	}
}

func TestNamesPrefixAndTypes(t *testing.T) {
	fake := awsfake.NewCloudWatch()
	for _, a := range []awsfake.CloudWatchAlarm{
		{Name: "web-5xx", State: awsfake.AlarmAlarm, Reason: "5xx > 5%"},
		{Name: "web-latency", State: awsfake.AlarmOK},
		{Name: "web-rollup", Composite: true, State: awsfake.AlarmAlarm, Reason: "children in ALARM"},
		{Name: "web-new", State: awsfake.AlarmInsufficientData},
		{Name: "db-cpu", State: awsfake.AlarmAlarm, Reason: "cpu > 90%"},
		{Name: "other", State: awsfake.AlarmAlarm, Reason: "not watched"},
	} {
		fake.SetAlarm(a)
	}
	m := newMonitor(t, fake, cwmonitor.Options{AlarmNames: []string{"db-cpu", "web-5xx", "db-cpu"}, AlarmNamePrefix: "web-"})
	v, err := m.Check(t.Context(), bluegreen.MonitorInput{DeploymentID: "d-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := bluegreen.Alarmed(bluegreen.Alarm{Name: "db-cpu", Reason: "cpu > 90%"}, bluegreen.Alarm{Name: "web-5xx", Reason: "5xx > 5%"}, bluegreen.Alarm{Name: "web-rollup", Reason: "children in ALARM"})
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("verdict (-want +got):\n%s", diff)
	}
	if got := fake.Faults.Calls()["DescribeAlarms"]; got != 2 {
		t.Errorf("DescribeAlarms calls for one Check = %d, want 2 (names, prefix)", got)
	}
}

// TestInsufficientData: an alarm without data is healthy by default, as in
// ECS, and inconclusive when the option says so; an alarm in ALARM wins.
func TestInsufficientData(t *testing.T) {
	tests := []struct {
		name   string
		policy cwmonitor.InsufficientDataPolicy
		states map[string]string
		want   bluegreen.Verdict
	}{
		{"default: healthy", cwmonitor.InsufficientDataHealthy,
			map[string]string{"a": awsfake.AlarmInsufficientData, "b": awsfake.AlarmOK}, bluegreen.Healthy()},
		{"inconclusive", cwmonitor.InsufficientDataInconclusive,
			map[string]string{"a": awsfake.AlarmInsufficientData, "b": awsfake.AlarmInsufficientData}, bluegreen.Inconclusive("INSUFFICIENT_DATA: a, b")},
		{"an alarm wins", cwmonitor.InsufficientDataInconclusive,
			map[string]string{"a": awsfake.AlarmInsufficientData, "b": awsfake.AlarmAlarm}, bluegreen.Alarmed(bluegreen.Alarm{Name: "b", Reason: "r"})},
		{"all OK", cwmonitor.InsufficientDataInconclusive,
			map[string]string{"a": awsfake.AlarmOK, "b": awsfake.AlarmOK}, bluegreen.Healthy()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewCloudWatch()
			for name, st := range tt.states {
				fake.SetAlarm(awsfake.CloudWatchAlarm{Name: name, State: st, Reason: "r"})
			}
			m := newMonitor(t, fake, cwmonitor.Options{AlarmNames: []string{"a", "b"}, InsufficientData: tt.policy})
			v, err := m.Check(t.Context(), bluegreen.MonitorInput{DeploymentID: "d-1"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			if m.Name() != "cloudwatch-alarms" {
				t.Errorf("Name() = %q", m.Name())
			}
		})
	}
}

func TestManyNames(t *testing.T) {
	fake := awsfake.NewCloudWatch()
	var names []string
	for i := range 150 {
		names = append(names, fmt.Sprintf("alarm-%03d", i))
		fake.SetAlarm(awsfake.CloudWatchAlarm{Name: names[i], State: awsfake.AlarmOK})
	}
	fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "alarm-149", State: awsfake.AlarmAlarm, Reason: "last"})
	m := newMonitor(t, fake, cwmonitor.Options{AlarmNames: names})
	v, err := m.Check(t.Context(), bluegreen.MonitorInput{DeploymentID: "d-1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bluegreen.Alarmed(bluegreen.Alarm{Name: "alarm-149", Reason: "last"}), v); diff != "" {
		t.Errorf("alarms (-want +got):\n%s", diff)
	}
	if got := fake.Faults.Calls()["DescribeAlarms"]; got != 2 {
		t.Errorf("DescribeAlarms calls for 150 names = %d, want 2 (100 names per call)", got)
	}
}

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name      string
		rule      *awsfake.Rule
		names     []string
		wantCode  bluegreen.Code
		wantText  string
		wantCalls int
	}{
		{name: "missing alarm", names: []string{"web-5xx", "web-typo"}, wantCode: bluegreen.CodeNotFound, wantText: "no CloudWatch alarm named web-typo", wantCalls: 1},
		{name: "throttled", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}}, wantCode: bluegreen.CodeThrottled, wantCalls: 3},
		{name: "5xx", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 500, Code: "InternalServiceError", Message: "oops"}}, wantCode: bluegreen.CodeTransient, wantCalls: 3},
		{name: "stale next token", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 400, Code: "InvalidNextToken", Message: "expired"}}, wantCode: bluegreen.CodeTransient, wantCalls: 1},
		{name: "access denied", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized"}}, wantCode: bluegreen.CodePermission, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewCloudWatch()
			fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "web-5xx", State: awsfake.AlarmOK})
			if tt.rule != nil {
				fake.Faults.Add(*tt.rule)
			}
			names := tt.names
			if names == nil {
				names = []string{"web-5xx"}
			}
			m := newMonitor(t, fake, cwmonitor.Options{AlarmNames: names})
			v, err := m.Check(t.Context(), bluegreen.MonitorInput{DeploymentID: "d-1"})
			if err == nil {
				t.Fatalf("Check = %v, nil; want an error", v)
			}
			if got := bluegreen.ErrorCode(err); got != tt.wantCode {
				t.Errorf("ErrorCode(%v) = %v, want %v", err, got, tt.wantCode)
			}
			if got := m.ErrorCode(errors.Unwrap(err)); tt.rule != nil && got != tt.wantCode {
				t.Errorf("Monitor.ErrorCode of the raw error = %v, want %v", got, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if got := fake.Faults.Calls()["DescribeAlarms"]; got != tt.wantCalls {
				t.Errorf("DescribeAlarms calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	client := cloudwatch.New(cloudwatch.Options{})
	for field, o := range map[string]cwmonitor.Options{
		"Client":        {AlarmNames: []string{"a"}},
		"AlarmNames":    {Client: client},
		"AlarmNames[1]": {Client: client, AlarmNames: []string{"a", " "}},
	} {
		_, err := cwmonitor.New(o)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != "cwmonitor.Options."+field {
			t.Errorf("New with a bad %s: err = %v, want a ConfigError naming the field", field, err)
		}
	}
}
