package cwmetrics

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
	"github.com/bluegreen-go/bluegreen/internal/threshold"
)

// Comparison says how the value is compared with Threshold: the monitor
// fires when "value Comparison Threshold" holds.
type Comparison = threshold.Comparison

// Comparisons.
const (
	GreaterThan    = threshold.GreaterThan
	GreaterOrEqual = threshold.GreaterOrEqual
	LessThan       = threshold.LessThan
	LessOrEqual    = threshold.LessOrEqual
)

// Metric is a CloudWatch metric the monitor reads, on green's target group.
type Metric struct {
	// ID names the metric in Expression, such as "errors"; it must start
	// with a lower-case letter and hold only letters, digits and
	// underscores. Required.
	ID string
	// Namespace, such as "AWS/ApplicationELB". Required.
	Namespace string
	// MetricName, such as "HTTPCode_Target_5XX_Count". Required.
	MetricName string
	// Stat is the statistic, such as "Sum" or "Average"; "Sum" if empty.
	Stat string
	// Dimensions are the metric's other dimensions, such as
	// {"LoadBalancer": "app/web/50dc6c495c0c9188"}; the target group
	// dimension (Options.TargetGroupDimension) is added for green.
	Dimensions map[string]string
}

// Options configure a Monitor.
type Options struct {
	// Client reads metrics; a *cloudwatch.Client. Required.
	Client cloudwatch.GetMetricDataAPIClient
	// Metrics are the metrics read. At least one is required.
	Metrics []Metric
	// Expression is metric math over the Metrics' IDs, such as
	// "errors * 100 / requests"; if empty, the only metric is judged.
	Expression string
	// TargetGroups maps a slot to its target group's dimension value
	// ("targetgroup/web-b/73e2d6bc24d8a067"), the part of the ARN after
	// the last colon. Either it or TargetGroup is required.
	TargetGroups map[bluegreen.Slot]string
	// TargetGroup returns the dimension value of an environment's target
	// group, for a monitor serving many services; it wins over TargetGroups.
	TargetGroup func(env bluegreen.Environment) (string, error)
	// TargetGroupDimension is the dimension name; "TargetGroup" if empty.
	TargetGroupDimension string
	// Period is the metrics' period; 1 minute if zero. It must be 1, 5,
	// 10, 20 or 30 seconds, or a multiple of a minute.
	Period time.Duration
	// Comparison and Threshold make the rule: the monitor fires when the
	// latest datapoint Comparison Threshold holds. Comparison is
	// GreaterThan if empty.
	Comparison Comparison
	// Threshold is the limit.
	Threshold float64
	// SampleID names the metric that measures the evidence (such as the
	// request count) and MinSamples its least value in the judged period;
	// below it the monitor answers INCONCLUSIVE. Optional.
	SampleID   string
	MinSamples float64
	// Name names the monitor and its alarm; "cloudwatch-metrics" if empty.
	Name string
}

// lookback is how many periods each Check reads: the latest datapoint among
// them is judged, which allows for CloudWatch's lag in publishing.
const lookback = 3

// resultID is the id of the expression's query.
const resultID = "bluegreen_result"

var idPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// Monitor is a bluegreen.Monitor over CloudWatch metrics (GetMetricData)
// of green's target group. It keeps no state and is safe for concurrent use.
type Monitor struct {
	opts Options
}

var (
	_ bluegreen.Monitor           = (*Monitor)(nil)
	_ bluegreen.EvidenceDescriber = (*Monitor)(nil)
	_ bluegreen.ErrorCoder        = (*Monitor)(nil)
)

func configError(field, problem, fix string) error {
	return &bluegreen.ConfigError{Field: "cwmetrics.Options." + field, Problem: problem, Fix: fix}
}

// New returns a Monitor for o, or a *bluegreen.ConfigError naming the bad field.
func New(o Options) (*Monitor, error) {
	switch {
	case o.Client == nil:
		return nil, configError("Client", "nil", "pass cloudwatch.NewFromConfig(cfg)")
	case len(o.Metrics) == 0:
		return nil, configError("Metrics", "empty", "name the metrics to read, such as AWS/ApplicationELB RequestCount")
	case o.Expression == "" && len(o.Metrics) > 1:
		return nil, configError("Expression", fmt.Sprintf("empty with %d metrics", len(o.Metrics)), `combine them with metric math, such as "errors / requests"`)
	case o.TargetGroup == nil && len(o.TargetGroups) == 0:
		return nil, configError("TargetGroups", "empty", "map slots A and B to their target groups' dimension values, or set TargetGroup")
	}
	o.Metrics = slices.Clone(o.Metrics)
	for i := range o.Metrics {
		m := &o.Metrics[i]
		f := fmt.Sprintf("Metrics[%d]", i)
		switch {
		case !idPattern.MatchString(m.ID) || m.ID == resultID:
			return nil, configError(f+".ID", fmt.Sprintf("%q is not a usable id", m.ID), "start with a lower-case letter; use letters, digits and underscores")
		case slices.ContainsFunc(o.Metrics[:i], func(p Metric) bool { return p.ID == m.ID }):
			return nil, configError(f+".ID", fmt.Sprintf("%q is used twice", m.ID), "give each metric its own id")
		case m.Namespace == "" || m.MetricName == "":
			return nil, configError(f, "no namespace or metric name", `set them, such as "AWS/ApplicationELB" and "RequestCount"`)
		}
		if m.Stat == "" {
			m.Stat = "Sum"
		}
		m.Dimensions = maps.Clone(m.Dimensions)
	}
	if o.TargetGroupDimension == "" {
		o.TargetGroupDimension = "TargetGroup"
	}
	if o.TargetGroups != nil {
		o.TargetGroups = maps.Clone(o.TargetGroups)
	}
	if o.Period == 0 {
		o.Period = time.Minute
	}
	if s := o.Period / time.Second; o.Period%time.Second != 0 || (s < 60 && !slices.Contains([]time.Duration{1, 5, 10, 20, 30}, s)) || (s >= 60 && s%60 != 0) {
		return nil, configError("Period", o.Period.String()+" is not a CloudWatch period", "use 1, 5, 10, 20 or 30 seconds, or whole minutes")
	}
	if o.Comparison == "" {
		o.Comparison = GreaterThan
	}
	if !slices.Contains([]Comparison{GreaterThan, GreaterOrEqual, LessThan, LessOrEqual}, o.Comparison) {
		return nil, configError("Comparison", fmt.Sprintf("unknown comparison %q", o.Comparison), "use >, >=, < or <=")
	}
	if math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 0) {
		return nil, configError("Threshold", "not a finite number", "give a number")
	}
	if o.SampleID != "" && !slices.ContainsFunc(o.Metrics, func(m Metric) bool { return m.ID == o.SampleID }) {
		return nil, configError("SampleID", fmt.Sprintf("%q names none of Metrics", o.SampleID), "name the metric that counts the requests")
	}
	if o.MinSamples < 0 || math.IsNaN(o.MinSamples) || (o.MinSamples > 0 && o.SampleID == "") {
		return nil, configError("MinSamples", fmt.Sprintf("%v without a SampleID, or negative", o.MinSamples), "set SampleID to the request-count metric and MinSamples ≥ 0")
	}
	if o.Name == "" {
		o.Name = "cloudwatch-metrics"
	}
	return &Monitor{opts: o}, nil
}

// Name returns Options.Name.
func (m *Monitor) Name() string { return m.opts.Name }

// Evidence says what the monitor needs before it can call green healthy.
func (m *Monitor) Evidence() string {
	if m.opts.SampleID != "" && m.opts.MinSamples > 0 {
		return fmt.Sprintf("%s at least %s in a %v period on green's target group", m.opts.SampleID, fmtValue(m.opts.MinSamples), m.opts.Period)
	}
	return fmt.Sprintf("a %v datapoint on green's target group", m.opts.Period)
}

// ErrorCode classifies an error of Check (bluegreen.ErrorCoder):
// throttling, 5xx and connection failures, permissions, bad parameters.
func (m *Monitor) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, nil) }

func fmtValue(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (m *Monitor) targetGroup(env bluegreen.Environment) (string, error) {
	if m.opts.TargetGroup != nil {
		tg, err := m.opts.TargetGroup(env)
		if err != nil {
			return "", fmt.Errorf("cwmetrics: target group of %s: %w", env, err)
		}
		return tg, nil
	}
	tg, ok := m.opts.TargetGroups[env.Slot]
	if !ok || tg == "" {
		return "", bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("cwmetrics: no target group for slot %s in Options.TargetGroups: add it", env.Slot))
	}
	return tg, nil
}

// Check reads the last three periods of the metrics on green's target
// group and judges the latest datapoint of Expression (or of the only
// metric): ALARM when it breaks the threshold; INCONCLUSIVE when there is
// none (no requests yet, or CloudWatch answering PartialData without
// values) or when SampleID's value in that period is below MinSamples;
// HEALTHY otherwise.
func (m *Monitor) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	tg, err := m.targetGroup(in.Green)
	if err != nil {
		return bluegreen.Verdict{}, err
	}
	end := time.Now().Truncate(time.Second)
	input := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-lookback * m.opts.Period)),
		EndTime:   aws.Time(end),
		ScanBy:    cwtypes.ScanByTimestampDescending,
	}
	judged := m.opts.Metrics[0].ID
	for _, mt := range m.opts.Metrics {
		dims := []cwtypes.Dimension{{Name: aws.String(m.opts.TargetGroupDimension), Value: aws.String(tg)}}
		for _, k := range slices.Sorted(maps.Keys(mt.Dimensions)) {
			dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(mt.Dimensions[k])})
		}
		input.MetricDataQueries = append(input.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(mt.ID),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(mt.Namespace), MetricName: aws.String(mt.MetricName), Dimensions: dims},
				Period: aws.Int32(int32(m.opts.Period / time.Second)),
				Stat:   aws.String(mt.Stat),
			},
			ReturnData: aws.Bool(m.opts.Expression == "" || mt.ID == m.opts.SampleID),
		})
	}
	if m.opts.Expression != "" {
		judged = resultID
		input.MetricDataQueries = append(input.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(resultID), Expression: aws.String(m.opts.Expression), ReturnData: aws.Bool(true),
		})
	}
	results := map[string]map[time.Time]float64{}
	status := map[string]cwtypes.StatusCode{}
	p := cloudwatch.NewGetMetricDataPaginator(m.opts.Client, input)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return bluegreen.Verdict{}, bluegreen.NewError(m.ErrorCode(err), fmt.Errorf("cwmetrics: get metric data of %s: %w", tg, err))
		}
		for _, r := range out.MetricDataResults {
			id := aws.ToString(r.Id)
			if results[id] == nil {
				results[id] = map[time.Time]float64{}
			}
			for i, t := range r.Timestamps {
				if i < len(r.Values) {
					results[id][t] = r.Values[i]
				}
			}
			status[id] = r.StatusCode
			if r.StatusCode == cwtypes.StatusCodeInternalError || r.StatusCode == cwtypes.StatusCodeForbidden {
				msg := ""
				for _, mm := range r.Messages {
					msg += " " + aws.ToString(mm.Code) + ": " + aws.ToString(mm.Value)
				}
				code := bluegreen.CodeTransient
				if r.StatusCode == cwtypes.StatusCodeForbidden {
					code = bluegreen.CodePermission
				}
				return bluegreen.Verdict{}, bluegreen.NewError(code, fmt.Errorf("cwmetrics: %s on %s: status %s%s", id, tg, r.StatusCode, msg))
			}
		}
	}
	what := m.opts.Expression
	if what == "" {
		what = m.opts.Metrics[0].MetricName
	}
	var latest time.Time
	for t := range results[judged] {
		if t.After(latest) {
			latest = t
		}
	}
	if latest.IsZero() {
		reason := fmt.Sprintf("green (%s): no datapoints of %s on %s in the last %v", in.Green, what, tg, lookback*m.opts.Period)
		if status[judged] == cwtypes.StatusCodePartialData {
			reason += " (CloudWatch answered PartialData)"
		}
		return bluegreen.Inconclusive(reason), nil
	}
	if m.opts.SampleID != "" && m.opts.MinSamples > 0 {
		n := results[m.opts.SampleID][latest] // missing: 0
		if n < m.opts.MinSamples {
			return bluegreen.Inconclusive(fmt.Sprintf("green (%s): %s was %s in the period at %s; %s are needed",
				in.Green, m.opts.SampleID, fmtValue(n), latest.UTC().Format(time.RFC3339), fmtValue(m.opts.MinSamples))), nil
		}
	}
	v := results[judged][latest]
	if m.opts.Comparison.Breaks(v, m.opts.Threshold) {
		return bluegreen.Alarmed(bluegreen.Alarm{Name: m.opts.Name,
			Reason: fmt.Sprintf("green (%s): %s on %s was %s in the period at %s, %s %s",
				in.Green, what, tg, fmtValue(v), latest.UTC().Format(time.RFC3339), m.opts.Comparison, fmtValue(m.opts.Threshold))}), nil
	}
	return bluegreen.Healthy(), nil
}
