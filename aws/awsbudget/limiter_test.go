package awsbudget_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsbudget"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/google/go-cmp/cmp"
)

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name  string
		opts  awsbudget.Options
		field string
	}{
		{"zero rate", awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "b", Operations: []string{"ECS:X"}}}}, "awsbudget.Options.Buckets[0].Rate"},
		{"no name", awsbudget.Options{Buckets: []awsbudget.Bucket{{Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[0].Name"},
		{"no operations", awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "b", Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[0].Operations"},
		{"bad key", awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "b", Operations: []string{"CreateTaskSet"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[0].Operations"},
		{"twice", awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "a", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}},
			{Name: "b", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[1].Operations"},
		{"negative burst", awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "b", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1, Burst: -1}}}}, "awsbudget.Options.Buckets[0].Burst"},
		{"same name", awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "a", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}},
			{Name: "a", Operations: []string{"ECS:Y"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[1].Name"},
		{"within nothing", awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "a", Within: "acct", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[0].Within"},
		{"within itself", awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "a", Within: "a", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[0].Within"},
		{"within within", awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "acct", Limit: awsbudget.Limit{Rate: 1}},
			{Name: "mid", Within: "acct", Operations: []string{"ECS:Y"}, Limit: awsbudget.Limit{Rate: 1}},
			{Name: "a", Within: "mid", Operations: []string{"ECS:X"}, Limit: awsbudget.Limit{Rate: 1}}}}, "awsbudget.Options.Buckets[2].Within"},
		{"min fraction", awsbudget.Options{MinFraction: 2}, "awsbudget.Options.MinFraction"},
		{"other", awsbudget.Options{Other: awsbudget.Limit{Burst: 3}}, "awsbudget.Options.Other.Rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awsbudget.New(tt.opts)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("New = %v, want a ConfigError on %s", err, tt.field)
			}
		})
	}
	if _, err := awsbudget.New(awsbudget.Options{}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// perSecond counts the times in each whole second since start.
func perSecond(start time.Time, times []time.Time) map[int]int {
	out := map[int]int{}
	for _, at := range times {
		out[int(at.Sub(start)/time.Second)]++
	}
	return out
}

// TestWaitPacesCalls runs 100 concurrent callers against a bucket of 10 a
// second with a burst of 5, in virtual time: the first 5 go at once, the
// others one every 100ms.
func TestWaitPacesCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "x", Operations: []string{"S:Op"}, Limit: awsbudget.Limit{Rate: 10, Burst: 5}}}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var mu sync.Mutex
		var times []time.Time
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if err := l.Wait(t.Context(), "S", "Op"); err != nil {
					t.Error(err)
				}
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
			})
		}
		wg.Wait()
		if got, want := time.Since(start), 9500*time.Millisecond; got != want {
			t.Errorf("100 calls took %v, want %v", got, want)
		}
		for sec, n := range perSecond(start, times) {
			if n > 15 || (sec > 0 && n > 10) {
				t.Errorf("second %d: %d calls, want at most 15 in the first and 10 after", sec, n)
			}
		}
		// Operations without a bucket are not limited.
		if err := l.Wait(t.Context(), "S", "Other"); err != nil || time.Since(start) != 9500*time.Millisecond {
			t.Errorf("unlimited operation: %v after %v", err, time.Since(start))
		}
		if diff := cmp.Diff(awsbudget.BucketStats{Limit: awsbudget.Limit{Rate: 10, Burst: 5}, Rate: 10, Calls: 100, Waited: 95}, l.Stats()["x"]); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
	})
}

func TestWaitCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "x", Operations: []string{"S:Op"}, Limit: awsbudget.Limit{Rate: 1, Burst: 1}}}})
		if err := l.Wait(t.Context(), "S", "Op"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := l.Wait(ctx, "S", "Op"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want the context's deadline", err)
		}
		// The canceled wait gave its token back: the next waits the rest
		// of the second only.
		start := time.Now()
		if err := l.Wait(t.Context(), "S", "Op"); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 900*time.Millisecond {
			t.Errorf("waited %v, want 900ms", got)
		}
	})
}

// TestThrottlingCutsAndRecovers: a throttling answer halves the rate once
// per cooldown, down to the floor, and the rate grows back additively.
func TestThrottlingCutsAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _ := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "x", Operations: []string{"S:Op"}, Limit: awsbudget.Limit{Rate: 16, Burst: 16}}},
			Recovery: 0.1, Cooldown: time.Second})
		throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
		rate := func() float64 { return l.Stats()["x"].Rate }
		steps := []struct {
			do   func()
			want float64
		}{
			{func() { l.Observe("S", "Op", errors.New("boom")) }, 16}, // not throttling
			{func() { l.Observe("S", "Op", throttled) }, 8},
			{func() { l.Observe("S", "Op", throttled) }, 8}, // within the cooldown
			{func() { time.Sleep(time.Second); l.Observe("S", "Op", throttled) }, (8 + 1.6) / 2},
			{func() { time.Sleep(time.Second) }, 4.8 + 1.6},
			{func() { time.Sleep(time.Hour) }, 16}, // recovered, not above the limit
			{func() {
				for range 10 {
					time.Sleep(time.Second)
					l.Observe("S", "Op", &smithy.GenericAPIError{Code: "TooManyRequestsException"})
				}
			}, floorAfter10(16, 1.6, 1)},
		}
		for i, s := range steps {
			s.do()
			if got := rate(); got < s.want-1e-9 || got > s.want+1e-9 {
				t.Errorf("step %d: rate %v, want %v", i, got, s.want)
			}
		}
		if st := l.Stats()["x"]; st.Throttled != 13 || st.Cuts != 12 {
			t.Errorf("stats %+v, want 13 throttled and 12 cuts", st)
		}

		// Without recovery to speak of, cuts stop at MinFraction.
		slow, _ := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "x", Operations: []string{"S:Op"}, Limit: awsbudget.Limit{Rate: 16}}},
			Recovery: 1e-9, MinFraction: 0.25})
		for range 5 {
			time.Sleep(time.Second)
			slow.Observe("S", "Op", throttled)
		}
		if got := slow.Stats()["x"].Rate; got < 4 || got > 4.001 {
			t.Errorf("rate %v after 5 cuts, want the floor 4", got)
		}
	})
}

// TestMiddlewareKeepsUnderAWSLimit sends 60 concurrent DescribeAlarms calls
// through the real SDK client to a CloudWatch fake that throttles above 9
// calls a second: with the default bucket (9 a second) none is throttled;
// with a bucket twice too fast, the throttling answers cut it.
func TestMiddlewareKeepsUnderAWSLimit(t *testing.T) {
	for _, tt := range []struct {
		name          string
		rate          float64
		wantThrottled bool
	}{{"default quota", 0, false}, {"twice the quota", 18, true}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := awsfake.NewCloudWatch()
				fake.SetAlarm(awsfake.CloudWatchAlarm{Name: "a", State: awsfake.AlarmOK})
				fake.Faults.Add(awsfake.Rule{Op: "DescribeAlarms", Fault: awsfake.Throttling(), RatePerSecond: 9})
				opts := awsbudget.Options{}
				if tt.rate > 0 {
					opts.Buckets = []awsbudget.Bucket{{Name: "cw", Operations: []string{"CloudWatch:DescribeAlarms"}, Limit: awsbudget.Limit{Rate: tt.rate, Burst: int(tt.rate)}}}
				}
				l, err := awsbudget.New(opts)
				if err != nil {
					t.Fatal(err)
				}
				cfg := awsfake.InProcessConfig(fake)
				cfg.RetryMaxAttempts = 10
				l.Install(&cfg)
				l.Install(&cfg) // twice is once
				client := cloudwatch.NewFromConfig(cfg)
				var wg sync.WaitGroup
				for range 60 {
					wg.Go(func() {
						if _, err := client.DescribeAlarms(t.Context(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}}); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				bucket := "cloudwatch:DescribeAlarms"
				if tt.rate > 0 {
					bucket = "cw"
				}
				st := l.Stats()[bucket]
				if got := fake.Faults.Injected() > 0; got != tt.wantThrottled {
					t.Errorf("fake throttled %d calls, want throttling %v", fake.Faults.Injected(), tt.wantThrottled)
				}
				if st.Throttled != fake.Faults.Injected() || (tt.wantThrottled && st.Cuts == 0) {
					t.Errorf("stats %+v, fake throttled %d", st, fake.Faults.Injected())
				}
				if calls := fake.Faults.Calls()["DescribeAlarms"]; st.Calls != calls {
					t.Errorf("%d tokens taken for %d attempts", st.Calls, calls)
				}
			})
		})
	}
}

var _ = aws.String

// floorAfter10 is the rate after ten rounds of a second's recovery and a
// cut, from rate r, with recovery rec a second and floor min.
func floorAfter10(r, rec, minRate float64) float64 {
	r = 16 // recovered fully before the rounds
	for range 10 {
		r = max(minRate, min(16, r+rec)/2)
	}
	return r
}

// TestWithinPacesTheAccount runs two categories of 10 a second (burst 40)
// within an account bucket of 10 a second (burst 40), as ELBv2 has them,
// with 200 callers each, in virtual time: every category and the account
// stay within rate plus burst in every second and over every window, and
// the calls end when the account's budget allows them all.
func TestWithinPacesTheAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "acct", Limit: awsbudget.Limit{Rate: 10, Burst: 40}},
			{Name: "read", Within: "acct", Operations: []string{"S:Read"}, Limit: awsbudget.Limit{Rate: 10, Burst: 40}},
			{Name: "write", Within: "acct", Operations: []string{"S:Write"}, Limit: awsbudget.Limit{Rate: 3, Burst: 20}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var mu sync.Mutex
		times := map[string][]time.Time{}
		var wg sync.WaitGroup
		for _, op := range []string{"Read", "Write"} {
			n := 200
			if op == "Write" {
				n = 60
			}
			for range n {
				wg.Go(func() {
					if err := l.Wait(t.Context(), "S", op); err != nil {
						t.Error(err)
					}
					mu.Lock()
					times[op] = append(times[op], time.Now())
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		all := append(append([]time.Time{}, times["Read"]...), times["Write"]...)
		// Token bucket conformance: in any window of d seconds, at most
		// burst + rate*d calls.
		conform := func(name string, ts []time.Time, rate, burst float64) {
			slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
			for i := range ts {
				for j := i; j < len(ts); j++ {
					d := ts[j].Sub(ts[i]).Seconds()
					if n := float64(j - i + 1); n > burst+rate*d+1e-9 {
						t.Fatalf("%s: %v calls in %.3fs, over burst %v + rate %v", name, n, d, burst, rate)
					}
				}
			}
		}
		conform("write", times["Write"], 3, 20)
		conform("read", times["Read"], 10, 40)
		conform("account", all, 10, 40)
		// 260 calls through an account of 40 + 10/s: the last goes at
		// 22 s, not earlier (the account paces) and not much later (the
		// categories do not hold it back).
		if got := time.Since(start); got < 22*time.Second || got > 23*time.Second {
			t.Errorf("took %v, want 22s to 23s", got)
		}
		stats := l.Stats()
		if got := stats["acct"].Calls; got != 260 {
			t.Errorf("account bucket: %d calls, want 260", got)
		}
	})
}

// TestWaitCanceledInTheAccount cancels a call waiting for the
// account-level bucket's token: it gives back the token it holds in its
// own bucket and its place in the account's.
func TestWaitCanceledInTheAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{
			{Name: "acct", Limit: awsbudget.Limit{Rate: 1, Burst: 1}},
			{Name: "a", Within: "acct", Operations: []string{"S:A"}, Limit: awsbudget.Limit{Rate: 10, Burst: 10}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(t.Context(), "S", "A"); err != nil { // the account's only token
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := l.Wait(ctx, "S", "A"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v, want the context's deadline", err)
		}
		start := time.Now()
		if err := l.Wait(t.Context(), "S", "A"); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 900*time.Millisecond {
			t.Errorf("waited %v, want 900ms (the account's next token)", got)
		}
		got := l.Stats()
		want := map[string]int{"acct": 2, "a": 2}
		for name, calls := range want {
			if got[name].Calls != calls {
				t.Errorf("bucket %s: %d calls, want %d", name, got[name].Calls, calls)
			}
		}
	})
}
