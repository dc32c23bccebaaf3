package awsbudget_test

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen/aws/awsbudget"
)

// TestWritePrometheus: the counters a platform service scrapes, by bucket.
func TestWritePrometheus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := awsbudget.New(awsbudget.Options{Buckets: []awsbudget.Bucket{{Name: "describe-alarms", Operations: []string{"CloudWatch:DescribeAlarms"},
			Limit: awsbudget.Limit{Rate: 9, Burst: 1}}}})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := l.Wait(t.Context(), "CloudWatch", "DescribeAlarms"); err != nil {
				t.Fatal(err)
			}
		}
		l.Observe("CloudWatch", "DescribeAlarms", &smithy.GenericAPIError{Code: "Throttling"})
		var b strings.Builder
		if err := l.WritePrometheus(&b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`bluegreen_aws_calls_total{bucket="describe-alarms"} 3`,
			`bluegreen_aws_calls_waited_total{bucket="describe-alarms"} 2`,
			`bluegreen_aws_throttled_total{bucket="describe-alarms"} 1`,
			`bluegreen_aws_rate{bucket="describe-alarms"} 4.5`,
			"# TYPE bluegreen_aws_rate gauge",
		} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("metrics lack %q:\n%s", want, b.String())
			}
		}
	})
}
