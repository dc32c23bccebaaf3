package cwmonitor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// Options configure a Monitor. At least one of AlarmNames and
// AlarmNamePrefix is required.
type Options struct {
	// Client reads alarms; a *cloudwatch.Client. Required unless Poller
	// is set.
	Client cloudwatch.DescribeAlarmsAPIClient
	// Poller, if set, reads the alarms instead of Client: every Monitor
	// of the process shares its DescribeAlarms calls (see Poller).
	Poller *Poller
	// AlarmNames are alarms to watch (metric or composite). Each must exist:
	// a Check that cannot find one fails, so that a misspelt name does not
	// leave a deployment unwatched.
	AlarmNames []string
	// AlarmNamePrefix watches every alarm whose name starts with it,
	// however many exist at each Check (none is not an error).
	AlarmNamePrefix string
	// IgnorePreexisting ignores alarms that entered ALARM before the
	// deployment started (MonitorInput.Started); see the package
	// documentation. By default they count, as in ECS.
	IgnorePreexisting bool
	// InsufficientData is what an alarm in INSUFFICIENT_DATA means; by
	// default (InsufficientDataHealthy) it does not fire, as in ECS, which
	// rolls back only on ALARM. InsufficientDataInconclusive holds a
	// traffic step or the bake time until the alarm has data (see
	// bluegreen.Config.InconclusiveTimeout).
	InsufficientData InsufficientDataPolicy
	// Name names the monitor in events and rollback results;
	// "cloudwatch-alarms" if empty.
	Name string
	// Logger receives a debug record per ignored pre-existing alarm. Nothing
	// is logged if nil.
	Logger *slog.Logger
}

// InsufficientDataPolicy says what an alarm in INSUFFICIENT_DATA means.
type InsufficientDataPolicy uint8

// InsufficientData policies.
const (
	// InsufficientDataHealthy: the alarm does not fire.
	InsufficientDataHealthy InsufficientDataPolicy = iota
	// InsufficientDataInconclusive: the monitor answers inconclusive.
	InsufficientDataInconclusive
)

// maxNamesPerCall is the most alarm names one DescribeAlarms call takes.
const maxNamesPerCall = 100

// Monitor is a bluegreen.Monitor over CloudWatch alarms. It is safe for
// concurrent use and keeps no state: one Monitor may watch any number of
// deployments at once, and a restarted process watches them as before.
type Monitor struct {
	opts Options
}

var (
	_ bluegreen.Monitor    = (*Monitor)(nil)
	_ bluegreen.ErrorCoder = (*Monitor)(nil)
)

// New returns a Monitor of the alarms o names.
func New(o Options) (*Monitor, error) {
	switch {
	case o.Client == nil && o.Poller == nil:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.Options.Client", Problem: "nil", Fix: "pass cloudwatch.NewFromConfig(cfg), or a Poller"}
	case len(o.AlarmNames) == 0 && o.AlarmNamePrefix == "":
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.Options.AlarmNames", Problem: "no alarms",
			Fix: "name the alarms to watch, or set AlarmNamePrefix"}
	}
	for i, n := range o.AlarmNames {
		if strings.TrimSpace(n) == "" {
			return nil, &bluegreen.ConfigError{Field: fmt.Sprintf("cwmonitor.Options.AlarmNames[%d]", i), Problem: "empty", Fix: "remove it or name an alarm"}
		}
	}
	o.AlarmNames = slices.Compact(slices.Sorted(slices.Values(o.AlarmNames)))
	if o.InsufficientData > InsufficientDataInconclusive {
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.Options.InsufficientData", Problem: fmt.Sprintf("unknown policy %d", o.InsufficientData),
			Fix: "use InsufficientDataHealthy or InsufficientDataInconclusive"}
	}
	if o.Name == "" {
		o.Name = "cloudwatch-alarms"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Monitor{opts: o}, nil
}

// Name returns Options.Name.
func (m *Monitor) Name() string { return m.opts.Name }

// alarm is what Check needs of a metric or composite alarm.
type alarm struct {
	name, state, reason string
	since               time.Time // when the state last changed
}

// Check answers ALARM with the watched alarms that are in ALARM, sorted by
// name, with their state reasons. OK does not fire; INSUFFICIENT_DATA does
// not either, unless Options.InsufficientData makes the answer INCONCLUSIVE.
// With IgnorePreexisting, an alarm whose state last changed before
// in.Started does not fire either; a zero in.Started ignores nothing.
func (m *Monitor) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	firing, waiting, err := m.alarms(ctx, in)
	switch {
	case err != nil:
		return bluegreen.Verdict{}, err
	case len(firing) > 0:
		return bluegreen.Alarmed(firing...), nil
	case len(waiting) > 0 && m.opts.InsufficientData == InsufficientDataInconclusive:
		return bluegreen.Inconclusive("INSUFFICIENT_DATA: " + strings.Join(waiting, ", ")), nil
	}
	return bluegreen.Healthy(), nil
}

// alarms returns the watched alarms that fire, and the names of those in
// INSUFFICIENT_DATA.
func (m *Monitor) alarms(ctx context.Context, in bluegreen.MonitorInput) (firing []bluegreen.Alarm, waiting []string, err error) {
	// CloudWatch keeps milliseconds: an alarm that changed in the same
	// millisecond as the start changed after it.
	start := in.Started.Truncate(time.Millisecond)
	var found map[string]alarm
	if m.opts.Poller != nil {
		if found, err = m.opts.Poller.lookup(ctx, m.opts.AlarmNames, m.opts.AlarmNamePrefix); err != nil {
			return nil, nil, err
		}
	} else {
		found = map[string]alarm{}
		for names := range slices.Chunk(m.opts.AlarmNames, maxNamesPerCall) {
			if err := describe(ctx, m.opts.Client, &cloudwatch.DescribeAlarmsInput{AlarmNames: names}, found); err != nil {
				return nil, nil, err
			}
		}
	}
	var missing []string
	for _, n := range m.opts.AlarmNames {
		if _, ok := found[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, nil, bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("cwmonitor: no CloudWatch alarm named %s: create it or fix Options.AlarmNames",
			strings.Join(missing, ", ")))
	}
	if p := m.opts.AlarmNamePrefix; p != "" && m.opts.Poller == nil {
		if err := describe(ctx, m.opts.Client, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(p)}, found); err != nil {
			return nil, nil, err
		}
	}
	for _, a := range found {
		if a.state == string(cwtypes.StateValueInsufficientData) {
			waiting = append(waiting, a.name)
		}
		if a.state != string(cwtypes.StateValueAlarm) {
			continue
		}
		if m.opts.IgnorePreexisting && !start.IsZero() && a.since.Before(start) {
			m.opts.Logger.DebugContext(ctx, "ignoring an alarm already in ALARM when the deployment started",
				"alarm", a.name, "since", a.since, "deployment", in.DeploymentID, "start", start)
			continue
		}
		firing = append(firing, bluegreen.Alarm{Name: a.name, Reason: a.reason})
	}
	slices.SortFunc(firing, func(a, b bluegreen.Alarm) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(waiting)
	return firing, waiting, nil
}

// describe reads every page of one DescribeAlarms query into found.
func describe(ctx context.Context, client cloudwatch.DescribeAlarmsAPIClient, in *cloudwatch.DescribeAlarmsInput, found map[string]alarm) error {
	in.AlarmTypes = []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}
	in.MaxRecords = aws.Int32(100)
	p := cloudwatch.NewDescribeAlarmsPaginator(client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return bluegreen.NewError(awserr.Classify(err, codes), fmt.Errorf("cwmonitor: describe alarms: %w", err))
		}
		for _, a := range out.MetricAlarms {
			found[aws.ToString(a.AlarmName)] = alarm{aws.ToString(a.AlarmName), string(a.StateValue), aws.ToString(a.StateReason),
				changed(a.StateTransitionedTimestamp, a.StateUpdatedTimestamp)}
		}
		for _, a := range out.CompositeAlarms {
			found[aws.ToString(a.AlarmName)] = alarm{aws.ToString(a.AlarmName), string(a.StateValue), aws.ToString(a.StateReason),
				changed(a.StateTransitionedTimestamp, a.StateUpdatedTimestamp)}
		}
	}
	return nil
}

// changed returns when an alarm's state value last changed: the
// StateTransitionedTimestamp, or StateUpdatedTimestamp (which also moves
// when only the reason changes) where the former is missing.
func changed(transitioned, updated *time.Time) time.Time {
	if transitioned != nil && !transitioned.IsZero() {
		return *transitioned
	}
	return aws.ToTime(updated)
}
