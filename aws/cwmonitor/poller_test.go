package cwmonitor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

func TestPollerConformance(t *testing.T) {
	bluegreentest.TestMonitor(t, func(t *testing.T) bluegreentest.MonitorHarness {
		fake := awsfake.NewCloudWatch()
		fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "web-5xx", State: awsfake.AlarmOK})
		// An interval of 1ns: every Check reads, as the conformance suite
		// expects a change to show at the next Check.
		poller, err := cwmonitor.NewPoller(cwmonitor.PollerOptions{Client: cloudwatch.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake))), Interval: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		m, err := cwmonitor.New(cwmonitor.Options{Poller: poller, AlarmNames: []string{"web-5xx"}})
		if err != nil {
			t.Fatal(err)
		}
		return bluegreentest.MonitorHarness{
			Monitor: m,
			Alarm:   "web-5xx",
			SetAlarm: func(_ context.Context, firing bool) error {
				state := awsfake.AlarmOK
				if firing {
					state = awsfake.AlarmAlarm
				}
				return fake.SetAlarmState("web-5xx", state, "Threshold Crossed", time.Now())
			},
		}
	})
}

// TestPollerBatches runs 150 monitors of 2 alarms each (300 names, and one
// prefix shared by all) checked every second for 25 s in virtual time:
// they share batches of at most 100 names, read at most once per
// interval, and each Check sees a change within the interval.
func TestPollerBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 150
		fake := awsfake.NewCloudWatch()
		for i := range n {
			fake.SetAlarm(awsfake.CloudWatchAlarm{Name: fmt.Sprintf("svc-%03d-5xx", i), State: awsfake.AlarmOK})
			fake.SetAlarm(awsfake.CloudWatchAlarm{Name: fmt.Sprintf("svc-%03d-latency", i), State: awsfake.AlarmOK})
		}
		fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "fleet-rollback-errors", State: awsfake.AlarmOK})
		rec := &recorder{client: cloudwatch.NewFromConfig(awsfake.InProcessConfig(fake)), start: time.Now()}
		poller, err := cwmonitor.NewPoller(cwmonitor.PollerOptions{Client: rec, Interval: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		monitors := make([]*cwmonitor.Monitor, n)
		for i := range monitors {
			if monitors[i], err = cwmonitor.New(cwmonitor.Options{Poller: poller,
				AlarmNames: []string{fmt.Sprintf("svc-%03d-5xx", i), fmt.Sprintf("svc-%03d-latency", i)}, AlarmNamePrefix: "fleet-rollback-"}); err != nil {
				t.Fatal(err)
			}
		}
		var firedAt sync.Map // monitor index -> time it first saw ALARM
		var wg sync.WaitGroup
		for i, m := range monitors {
			wg.Go(func() {
				for range 25 {
					v, err := m.Check(t.Context(), bluegreen.MonitorInput{DeploymentID: fmt.Sprint(i)})
					if err != nil {
						t.Error(err)
						return
					}
					if v.State == bluegreen.MonitorAlarm {
						firedAt.LoadOrStore(i, time.Now())
					}
					time.Sleep(time.Second)
				}
			})
		}
		time.Sleep(12 * time.Second)
		changed := time.Now()
		if err := fake.SetAlarmState("svc-007-5xx", awsfake.AlarmAlarm, "Threshold Crossed", changed); err != nil {
			t.Fatal(err)
		}
		wg.Wait()

		// At the start, the Checks' names join the batches as the Checks
		// come: every name is read once. Afterwards, one batch per 10s
		// interval reads them all: 3 calls of 100 names and the prefix.
		rec.mu.Lock()
		var first, later []call
		for _, c := range rec.calls {
			if c.at < time.Second {
				first = append(first, c)
			} else {
				later = append(later, c)
			}
		}
		rec.mu.Unlock()
		names, prefixes := 0, 0
		for _, c := range first {
			names += c.names
			if c.prefix {
				prefixes++
			}
		}
		if names != 2*n || prefixes != 1 {
			t.Errorf("first second: %d names and %d prefix reads in %d calls, want %d and 1", names, prefixes, len(first), 2*n)
		}
		want := []call{{10 * time.Second, 100, false}, {10 * time.Second, 100, false}, {10 * time.Second, 100, false}, {10 * time.Second, 0, true},
			{20 * time.Second, 100, false}, {20 * time.Second, 100, false}, {20 * time.Second, 100, false}, {20 * time.Second, 0, true}}
		if diff := cmp.Diff(want, later, cmp.AllowUnexported(call{})); diff != "" {
			t.Errorf("calls after the first second (-want +got):\n%s", diff)
		}
		at, ok := firedAt.Load(7)
		if !ok {
			t.Fatal("monitor 7 never saw its alarm")
		}
		if lag := at.(time.Time).Sub(changed); lag > 10*time.Second {
			t.Errorf("monitor 7 saw its alarm %v after it fired, want within the 10s interval", lag)
		}
		firedAt.Range(func(k, _ any) bool {
			if k != 7 {
				t.Errorf("monitor %v fired", k)
			}
			return true
		})
	})
}

// call is one DescribeAlarms call: when, how many names, with a prefix.
type call struct {
	at     time.Duration
	names  int
	prefix bool
}

// recorder records the DescribeAlarms calls of a client.
type recorder struct {
	client cloudwatch.DescribeAlarmsAPIClient
	start  time.Time
	mu     sync.Mutex
	calls  []call
}

func (r *recorder) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call{time.Since(r.start), len(in.AlarmNames), in.AlarmNamePrefix != nil})
	r.mu.Unlock()
	return r.client.DescribeAlarms(ctx, in, o...)
}

func TestPollerErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := awsfake.NewCloudWatch()
		fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "a", State: awsfake.AlarmOK})
		poller, _ := cwmonitor.NewPoller(cwmonitor.PollerOptions{Client: cloudwatch.NewFromConfig(awsfake.InProcessConfig(fake)), Interval: time.Second})
		missing, _ := cwmonitor.New(cwmonitor.Options{Poller: poller, AlarmNames: []string{"a", "typo"}})
		_, err := missing.Check(t.Context(), bluegreen.MonitorInput{})
		if bluegreen.ErrorCode(err) != bluegreen.CodeNotFound {
			t.Errorf("missing alarm: %v, want CodeNotFound", err)
		}
		// A failed batch fails its Checks with the error's code and is
		// not kept: the next Check reads again.
		fake.Faults.Add(awsfake.Rule{Op: "DescribeAlarms", Fault: awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "no"}, Times: 1})
		good, _ := cwmonitor.New(cwmonitor.Options{Poller: poller, AlarmNames: []string{"a"}})
		time.Sleep(2 * time.Second)
		if _, err := good.Check(t.Context(), bluegreen.MonitorInput{}); bluegreen.ErrorCode(err) != bluegreen.CodePermission {
			t.Errorf("denied: %v, want CodePermission", err)
		}
		if v, err := good.Check(t.Context(), bluegreen.MonitorInput{}); err != nil || v.State != bluegreen.MonitorHealthy {
			t.Errorf("after the error: %v, %v", v, err)
		}
		// A canceled Check returns at once.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		time.Sleep(2 * time.Second)
		if _, err := good.Check(ctx, bluegreen.MonitorInput{}); !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: %v", err)
		}
		synctest.Wait()
	})
}

func TestNewPollerRefusesBadOptions(t *testing.T) {
	client := cloudwatch.NewFromConfig(awsfake.Config("http://127.0.0.1:1"))
	for _, tt := range []struct {
		opts  cwmonitor.PollerOptions
		field string
	}{
		{cwmonitor.PollerOptions{}, "cwmonitor.PollerOptions.Client"},
		{cwmonitor.PollerOptions{Client: client, Interval: -1}, "cwmonitor.PollerOptions.Interval"},
		{cwmonitor.PollerOptions{Client: client, Forget: -1}, "cwmonitor.PollerOptions.Forget"},
		{cwmonitor.PollerOptions{Client: client, Timeout: -1}, "cwmonitor.PollerOptions.Timeout"},
	} {
		_, err := cwmonitor.NewPoller(tt.opts)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("NewPoller(%+v) = %v, want a ConfigError on %s", tt.opts, err, tt.field)
		}
	}
}
