package cwmonitor

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/bluegreen-go/bluegreen"
)

// Options configure a Monitor. At least one of AlarmNames and
// AlarmNamePrefix is required.
type Options struct {
	// Client reads alarms; a *cloudwatch.Client. Required.
	Client cloudwatch.DescribeAlarmsAPIClient
	// AlarmNames are alarms to watch (metric or composite). Each must exist:
	// a Check that cannot find one fails, so that a misspelt name does not
	// leave a deployment unwatched.
	AlarmNames []string
	// AlarmNamePrefix watches every alarm whose name starts with it,
	// however many exist at each Check (none is not an error).
	AlarmNamePrefix string
	// IgnorePreexisting ignores alarms that entered ALARM before the
	// Monitor's first Check of a deployment; see the package documentation.
	// By default they count, as in ECS.
	IgnorePreexisting bool
	// Now tells the time, for IgnorePreexisting; time.Now if nil.
	Now func() time.Time
	// Forget is how long the start of a deployment is remembered after its
	// last Check, for IgnorePreexisting; 24h if zero.
	Forget time.Duration
	// Logger receives a debug record per ignored pre-existing alarm. Nothing
	// is logged if nil.
	Logger *slog.Logger
}

// maxNamesPerCall is the most alarm names one DescribeAlarms call takes.
const maxNamesPerCall = 100

// Monitor is a bluegreen.Monitor over CloudWatch alarms. It is safe for
// concurrent use; one Monitor may watch many deployments at once.
type Monitor struct {
	opts Options

	mu      sync.Mutex
	starts  map[string]deploymentSeen // by deployment id, for IgnorePreexisting
	pruneAt int                       // prune starts when it holds this many
	pruned  time.Time                 // when starts was last pruned
}

type deploymentSeen struct{ start, last time.Time }

var (
	_ bluegreen.Monitor    = (*Monitor)(nil)
	_ bluegreen.ErrorCoder = (*Monitor)(nil)
)

// New returns a Monitor of the alarms o names.
func New(o Options) (*Monitor, error) {
	switch {
	case o.Client == nil:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.Options.Client", Problem: "nil", Fix: "pass cloudwatch.NewFromConfig(cfg)"}
	case len(o.AlarmNames) == 0 && o.AlarmNamePrefix == "":
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.Options.AlarmNames", Problem: "no alarms",
			Fix: "name the alarms to watch, or set AlarmNamePrefix"}
	case o.Forget < 0:
		return nil, &bluegreen.ConfigError{Field: "cwmonitor.Options.Forget", Problem: fmt.Sprintf("negative (%v)", o.Forget), Fix: "use a positive duration, or 0 for 24h"}
	}
	for i, n := range o.AlarmNames {
		if strings.TrimSpace(n) == "" {
			return nil, &bluegreen.ConfigError{Field: fmt.Sprintf("cwmonitor.Options.AlarmNames[%d]", i), Problem: "empty", Fix: "remove it or name an alarm"}
		}
	}
	o.AlarmNames = slices.Compact(slices.Sorted(slices.Values(o.AlarmNames)))
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Forget = cmp.Or(o.Forget, 24*time.Hour)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Monitor{opts: o, starts: map[string]deploymentSeen{}, pruneAt: 64, pruned: o.Now()}, nil
}

// alarm is what Check needs of a metric or composite alarm.
type alarm struct {
	name, state, reason string
	since               time.Time // when the state last changed
}

// Check returns the watched alarms that are in ALARM, sorted by name, with
// their state reasons. OK and INSUFFICIENT_DATA do not fire.
func (m *Monitor) Check(ctx context.Context, in bluegreen.MonitorInput) ([]bluegreen.Alarm, error) {
	var start time.Time
	if m.opts.IgnorePreexisting {
		start = m.start(in.DeploymentID)
	}
	found := map[string]alarm{}
	for names := range slices.Chunk(m.opts.AlarmNames, maxNamesPerCall) {
		if err := m.describe(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names}, found); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, n := range m.opts.AlarmNames {
		if _, ok := found[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("cwmonitor: no CloudWatch alarm named %s: create it or fix Options.AlarmNames",
			strings.Join(missing, ", ")))
	}
	if p := m.opts.AlarmNamePrefix; p != "" {
		if err := m.describe(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(p)}, found); err != nil {
			return nil, err
		}
	}
	var firing []bluegreen.Alarm
	for _, a := range found {
		if a.state != string(cwtypes.StateValueAlarm) {
			continue
		}
		if m.opts.IgnorePreexisting && a.since.Before(start) {
			m.opts.Logger.DebugContext(ctx, "ignoring an alarm already in ALARM when the deployment started",
				"alarm", a.name, "since", a.since, "deployment", in.DeploymentID, "start", start)
			continue
		}
		firing = append(firing, bluegreen.Alarm{Name: a.name, Reason: a.reason})
	}
	slices.SortFunc(firing, func(a, b bluegreen.Alarm) int { return strings.Compare(a.Name, b.Name) })
	return firing, nil
}

// describe reads every page of one DescribeAlarms query into found.
func (m *Monitor) describe(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, found map[string]alarm) error {
	in.AlarmTypes = []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}
	in.MaxRecords = aws.Int32(100)
	p := cloudwatch.NewDescribeAlarmsPaginator(m.opts.Client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return bluegreen.NewError(m.ErrorCode(err), fmt.Errorf("cwmonitor: describe alarms: %w", err))
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

// start returns when the Monitor first saw deployment id, and forgets
// deployments not seen for Options.Forget.
func (m *Monitor) start(id string) time.Time {
	now := m.opts.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.starts[id]
	if !ok {
		// CloudWatch keeps milliseconds: an alarm that changed in the same
		// millisecond as the first Check changed after the start.
		s.start = now.Truncate(time.Millisecond)
		if len(m.starts) >= m.pruneAt || now.Sub(m.pruned) > m.opts.Forget {
			// Pruning when the map has doubled, or once per Forget, keeps
			// the cost amortized constant and the memory bounded while
			// thousands of deployments come and go.
			for k, v := range m.starts {
				if now.Sub(v.last) > m.opts.Forget {
					delete(m.starts, k)
				}
			}
			m.pruneAt, m.pruned = max(64, 2*len(m.starts)), now
		}
	}
	s.last = now
	m.starts[id] = s
	return s.start
}
