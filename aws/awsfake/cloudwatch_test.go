package awsfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func newCloudWatchClient(t *testing.T) (*CloudWatch, *cloudwatch.Client) {
	t.Helper()
	fake := NewCloudWatch()
	return fake, cloudwatch.NewFromConfig(Config(ServeTest(t, fake)))
}

// cwSummary is what the tests compare of an alarm the SDK decoded.
type cwSummary struct {
	Name, State, Reason   string
	Updated, Transitioned time.Time
}

func summarizeMetricAlarms(alarms []cwtypes.MetricAlarm) []cwSummary {
	var out []cwSummary
	for _, a := range alarms {
		out = append(out, cwSummary{aws.ToString(a.AlarmName), string(a.StateValue), aws.ToString(a.StateReason),
			aws.ToTime(a.StateUpdatedTimestamp).UTC(), aws.ToTime(a.StateTransitionedTimestamp).UTC()})
	}
	return out
}

func TestCloudWatchDescribeAlarms(t *testing.T) {
	fake, client := newCloudWatchClient(t)
	t0 := time.Date(2025, 7, 10, 13, 15, 39, 18_000_000, time.UTC) // millisecond precision survives the wire
	fake.SetAlarm(CloudWatchAlarm{Name: "web-5xx", State: AlarmOK, Reason: "fine", Updated: t0})
	fake.SetAlarm(CloudWatchAlarm{Name: "web-latency", State: AlarmAlarm, Reason: "p99 > 1s", Updated: t0})
	fake.SetAlarm(CloudWatchAlarm{Name: "web-composite", Composite: true, State: AlarmAlarm, Reason: "children", Updated: t0})
	fake.SetAlarm(CloudWatchAlarm{Name: "db-cpu", State: AlarmInsufficientData, Updated: t0})
	t1 := t0.Add(time.Minute)
	if err := fake.SetAlarmState("web-5xx", AlarmAlarm, "errors > 1%", t1); err != nil {
		t.Fatal(err)
	}

	t.Run("by names", func(t *testing.T) {
		out, err := client.DescribeAlarms(t.Context(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx", "db-cpu", "missing"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []cwSummary{
			{"db-cpu", "INSUFFICIENT_DATA", "", t0, t0},
			{"web-5xx", "ALARM", "errors > 1%", t1, t1},
		}
		if diff := cmp.Diff(want, summarizeMetricAlarms(out.MetricAlarms)); diff != "" {
			t.Errorf("alarms (-want +got):\n%s", diff)
		}
		if out.CompositeAlarms != nil {
			t.Errorf("composite alarms returned without AlarmTypes: %v", out.CompositeAlarms)
		}
	})

	t.Run("by prefix, both types, state filter", func(t *testing.T) {
		out, err := client.DescribeAlarms(t.Context(), &cloudwatch.DescribeAlarmsInput{
			AlarmNamePrefix: aws.String("web-"),
			AlarmTypes:      []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
			StateValue:      cwtypes.StateValueAlarm,
		})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range out.MetricAlarms {
			names = append(names, *a.AlarmName)
		}
		for _, a := range out.CompositeAlarms {
			names = append(names, *a.AlarmName+" (composite, "+*a.StateReason+")")
		}
		want := []string{"web-5xx", "web-latency", "web-composite (composite, children)"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("alarm names (-want +got):\n%s", diff)
		}
	})

	t.Run("names and prefix together", func(t *testing.T) {
		_, err := client.DescribeAlarms(t.Context(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterCombination" {
			t.Fatalf("err = %v, want InvalidParameterCombination", err)
		}
	})
}

func TestCloudWatchPagination(t *testing.T) {
	fake, client := newCloudWatchClient(t)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("svc-%02d", i)
		want = append(want, name)
		fake.SetAlarm(CloudWatchAlarm{Name: name, State: AlarmOK})
	}
	fake.SetAlarm(CloudWatchAlarm{Name: "other", State: AlarmOK})

	var got []string
	p := cloudwatch.NewDescribeAlarmsPaginator(client, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("svc-"), MaxRecords: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.MetricAlarms {
			got = append(got, *a.AlarmName)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged names (-want +got):\n%s", diff)
	}
	if calls := fake.Faults.Calls()["DescribeAlarms"]; calls != 3 {
		t.Errorf("DescribeAlarms calls = %d, want 3 pages", calls)
	}
}

func TestCloudWatchFaults(t *testing.T) {
	tests := []struct {
		name      string
		rule      Rule
		wantCode  string
		wantCalls int
	}{
		{name: "throttled once", rule: Rule{Fault: Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"}, Times: 1}, wantCalls: 2},
		{name: "persistent 500", rule: Rule{Fault: InternalError()}, wantCode: "InternalFailure", wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client := newCloudWatchClient(t)
			fake.Faults.Add(tt.rule)
			_, err := client.DescribeAlarms(t.Context(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}})
			var apiErr smithy.APIError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("DescribeAlarms: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode):
				t.Fatalf("DescribeAlarms: err = %v, want %s", err, tt.wantCode)
			}
			if got := fake.Faults.Calls()["DescribeAlarms"]; got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestCloudWatchRejectsOtherProtocols(t *testing.T) {
	url := ServeTest(t, NewCloudWatch())
	// A query-protocol request, as older SDKs send, must not be mistaken for rpc-v2-cbor.
	resp, err := http.Post(url+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=DescribeAlarms&Version=2010-08-01"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
}

func ExampleCloudWatch() {
	fake := NewCloudWatch()
	fake.SetAlarm(CloudWatchAlarm{Name: "web-5xx", State: AlarmOK})
	if err := fake.SetAlarmState("web-5xx", AlarmAlarm, "5xx rate 7.5% > 5%", time.Now()); err != nil {
		fmt.Println(err)
		return
	}
	url, closeServer := Serve(fake)
	defer closeServer()

	client := cloudwatch.NewFromConfig(Config(url))
	out, err := client.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	a := out.MetricAlarms[0]
	fmt.Println(*a.AlarmName, a.StateValue, *a.StateReason)
	// Output: web-5xx ALARM 5xx rate 7.5% > 5%
}
