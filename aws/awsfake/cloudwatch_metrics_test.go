package awsfake

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"
)

// TestGetMetricData checks the fake's GetMetricData with the real SDK
// client: statistics per period, the metric math it supports, order, and
// validation.
func TestGetMetricData(t *testing.T) {
	cw := NewCloudWatch()
	client := cloudwatch.NewFromConfig(Config(ServeTest(t, cw)))
	base := time.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	dims := map[string]string{"TargetGroup": "tg"}
	for i, v := range []float64{2, 4} { // minute 0: a=2+4, b=3
		cw.PutMetricData(MetricDatum{"NS", "a", dims, base.Add(time.Duration(i) * time.Second), v})
	}
	cw.PutMetricData(MetricDatum{"NS", "b", dims, base, 3},
		MetricDatum{"NS", "a", dims, base.Add(time.Minute), 1}, MetricDatum{"NS", "b", dims, base.Add(time.Minute), 0}, // minute 1: b=0
		MetricDatum{"NS", "a", dims, base.Add(2 * time.Minute), 5}, // minute 2: no b
		MetricDatum{"NS", "a", map[string]string{"TargetGroup": "other"}, base, 100})
	metric := func(id, name, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(false), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("NS"), MetricName: aws.String(name),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String("tg")}}},
			Period: aws.Int32(60), Stat: aws.String(stat)}}
	}
	expr := func(e string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String("e"), Expression: aws.String(e)}
	}
	type point struct {
		Minute int
		Value  float64
	}
	tests := []struct {
		name    string
		queries []cwtypes.MetricDataQuery
		want    []point
	}{
		{"sum", []cwtypes.MetricDataQuery{{Id: aws.String("a"), MetricStat: metric("a", "a", "Sum").MetricStat}}, []point{{2, 5}, {1, 1}, {0, 6}}},
		{"average", []cwtypes.MetricDataQuery{{Id: aws.String("a"), MetricStat: metric("a", "a", "Average").MetricStat}}, []point{{2, 5}, {1, 1}, {0, 3}}},
		{"sample count", []cwtypes.MetricDataQuery{{Id: aws.String("a"), MetricStat: metric("a", "a", "SampleCount").MetricStat}}, []point{{2, 1}, {1, 1}, {0, 2}}},
		{"a/b: no b, or b=0, no datapoint", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), metric("b", "b", "Sum"), expr("a/b")}, []point{{0, 2}}},
		{"a+b", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), metric("b", "b", "Sum"), expr("a + b")}, []point{{1, 1}, {0, 9}}},
		{"a*100/b", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), metric("b", "b", "Sum"), expr("a*100/b")}, []point{{0, 200}}},
		{"(a-b)/(a+b)", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), metric("b", "b", "Sum"), expr("(a - b) / (a + b)")}, []point{{1, 1}, {0, 1.0 / 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{MetricDataQueries: tt.queries,
				StartTime: aws.Time(base), EndTime: aws.Time(base.Add(5 * time.Minute))})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.MetricDataResults) != 1 {
				t.Fatalf("%d results, want 1 (ReturnData)", len(out.MetricDataResults))
			}
			r := out.MetricDataResults[0]
			var got []point
			for i, ts := range r.Timestamps {
				got = append(got, point{int(ts.Sub(base) / time.Minute), r.Values[i]})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || r.StatusCode != cwtypes.StatusCodeComplete {
				t.Errorf("status %s, datapoints (-want +got):\n%s", r.StatusCode, diff)
			}
		})
	}
	for _, bad := range []struct {
		name    string
		queries []cwtypes.MetricDataQuery
	}{
		{"unknown id", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), expr("a/zz")}},
		{"bad syntax", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), expr("a/(b")}},
		{"function", []cwtypes.MetricDataQuery{metric("a", "a", "Sum"), expr("SUM(METRICS())")}},
		{"upper-case id", []cwtypes.MetricDataQuery{{Id: aws.String("A"), MetricStat: metric("a", "a", "Sum").MetricStat}}},
		{"nothing returned", []cwtypes.MetricDataQuery{metric("a", "a", "Sum")}},
	} {
		_, err := client.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{MetricDataQueries: bad.queries,
			StartTime: aws.Time(base), EndTime: aws.Time(base.Add(5 * time.Minute))})
		if err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
	cw.SetMetricDataPartial(true)
	out, err := client.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("a"), MetricStat: metric("a", "a", "Sum").MetricStat}},
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(5 * time.Minute))})
	if err != nil || out.MetricDataResults[0].StatusCode != cwtypes.StatusCodePartialData || len(out.MetricDataResults[0].Values) != 0 {
		t.Errorf("partial: %+v, %v; want PartialData without values", out, err)
	}
}
