package promonitor

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Monitor is a bluegreen.Monitor over an instant PromQL query. It keeps no
// state, so one Monitor may watch any number of deployments at once; it is
// safe for concurrent use.
type Monitor struct {
	opts Options
	q    queries
}

var (
	_ bluegreen.Monitor           = (*Monitor)(nil)
	_ bluegreen.EvidenceDescriber = (*Monitor)(nil)
	_ bluegreen.ErrorCoder        = (*Monitor)(nil)
)

// New returns a Monitor for o, or a *bluegreen.ConfigError naming the field
// that is wrong (a template that does not parse names its query).
func New(o Options) (*Monitor, error) {
	q, err := o.validate()
	if err != nil {
		return nil, err
	}
	return &Monitor{opts: o, q: q}, nil
}

// Name returns Options.Name, which also names the alarm.
func (m *Monitor) Name() string { return m.opts.Name }

// Evidence says what the monitor needs before it can call green healthy
// (bluegreen.EvidenceDescriber).
func (m *Monitor) Evidence() string {
	if m.q.min != nil {
		return fmt.Sprintf("%s at least %s for green", m.opts.MinSampleQuery, formatValue(m.opts.MinSamples))
	}
	return "a sample of " + m.opts.Query + " for green"
}

// ErrorCode classifies the errors Check returns (bluegreen.ErrorCoder);
// they already carry a code, which this returns.
func (m *Monitor) ErrorCode(err error) bluegreen.Code { return bluegreen.ErrorCode(err) }

// Check runs the queries at one instant and answers:
//
//   - INCONCLUSIVE while MinSampleQuery is below MinSamples, or when Query
//     answers an empty vector or only NaN (no traffic, no series yet);
//   - ALARM, with one alarm named after the monitor, when a sample of Query
//     breaks the limit: Threshold, or blue's value times Factor plus Margin
//     with Options.Blue and a blue that has an answer;
//   - HEALTHY otherwise.
//
// A query Prometheus refuses is an error naming the query (a *QueryError).
func (m *Monitor) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	now := time.Now()
	green := m.values(in, "green")

	if m.q.min != nil {
		enough, why, err := m.evidence(ctx, green, now)
		if err != nil {
			return bluegreen.Verdict{}, err
		}
		if !enough {
			return bluegreen.Inconclusive(fmt.Sprintf("green (%s): %s", in.Green, why)), nil
		}
	}
	q, err := render(m.q.main, green)
	if err != nil {
		return bluegreen.Verdict{}, err
	}
	samples, err := m.query(ctx, q, now)
	if err != nil {
		return bluegreen.Verdict{}, err
	}
	if len(samples) == 0 {
		return bluegreen.Inconclusive(fmt.Sprintf("green (%s): %s answered no samples", in.Green, q)), nil
	}

	limit, against := m.opts.Threshold, formatValue(m.opts.Threshold)
	if m.opts.Blue != nil && in.Blue != nil {
		l, desc, ok, err := m.blueLimit(ctx, in, now)
		if err != nil {
			return bluegreen.Verdict{}, err
		}
		if ok {
			limit, against = l, desc
		} else {
			against += " (" + desc + ")"
		}
	}
	var broken []string
	nan := 0
	for _, s := range samples {
		switch {
		case math.IsNaN(s.Value):
			nan++
		case m.opts.Comparison.Breaks(s.Value, limit):
			broken = append(broken, s.String())
		}
	}
	switch {
	case len(broken) > 0:
		const show = 3
		list := strings.Join(broken[:min(show, len(broken))], "; ")
		if len(broken) > show {
			list += fmt.Sprintf("; and %d more", len(broken)-show)
		}
		return bluegreen.Alarmed(bluegreen.Alarm{Name: m.opts.Name,
			Reason: fmt.Sprintf("green (%s): %s answered %s, %s %s", in.Green, q, list, m.opts.Comparison, against)}), nil
	case nan == len(samples):
		return bluegreen.Inconclusive(fmt.Sprintf("green (%s): %s answered NaN (no data to compute it from)", in.Green, q)), nil
	}
	return bluegreen.Healthy(), nil
}

// evidence runs MinSampleQuery with v and reports whether it reaches
// MinSamples, and if not, why.
func (m *Monitor) evidence(ctx context.Context, v Values, now time.Time) (bool, string, error) {
	q, err := render(m.q.min, v)
	if err != nil {
		return false, "", err
	}
	samples, err := m.query(ctx, q, now)
	if err != nil {
		return false, "", err
	}
	if len(samples) == 0 {
		return false, q + " answered no samples; " + formatValue(m.opts.MinSamples) + " are needed", nil
	}
	least := math.Inf(1)
	for _, s := range samples {
		if math.IsNaN(s.Value) {
			return false, q + " answered NaN; " + formatValue(m.opts.MinSamples) + " are needed", nil
		}
		least = min(least, s.Value)
	}
	if least < m.opts.MinSamples {
		return false, fmt.Sprintf("%s answered %s; %s are needed", q, formatValue(least), formatValue(m.opts.MinSamples)), nil
	}
	return true, "", nil
}

// blueLimit reads blue's value at the same instant and returns the limit it
// makes, described; ok is false (with the reason) when blue has no usable
// answer and Threshold applies.
func (m *Monitor) blueLimit(ctx context.Context, in bluegreen.MonitorInput, now time.Time) (limit float64, desc string, ok bool, err error) {
	blue := m.values(in, "blue")
	if m.q.min != nil {
		enough, why, err := m.evidence(ctx, blue, now)
		if err != nil {
			return 0, "", false, err
		}
		if !enough {
			return 0, "blue too quiet to compare: " + why, false, nil
		}
	}
	q, err := render(m.q.blue, blue)
	if err != nil {
		return 0, "", false, err
	}
	samples, err := m.query(ctx, q, now)
	if err != nil {
		return 0, "", false, err
	}
	switch {
	case len(samples) == 0:
		return 0, "blue's " + q + " answered no samples", false, nil
	case len(samples) > 1:
		return 0, "", false, bluegreen.NewError(bluegreen.CodeInvalid, &QueryError{Query: q, ErrorType: "bad_data",
			Message: fmt.Sprintf("blue's query answered %d samples; it must answer one number (aggregate it with sum or max)", len(samples))})
	case math.IsNaN(samples[0].Value):
		return 0, "blue's " + q + " answered NaN", false, nil
	}
	b := m.opts.Blue
	limit = samples[0].Value*b.Factor + b.Margin
	return limit, fmt.Sprintf("%s: blue (%s) %s × %s + %s", formatValue(limit), *in.Blue, formatValue(samples[0].Value),
		formatValue(b.Factor), formatValue(b.Margin)), true, nil
}

// values returns the template values for the environment in role.
func (m *Monitor) values(in bluegreen.MonitorInput, role string) Values {
	v := Values{DeploymentID: in.DeploymentID, Service: in.Service, Stage: in.Stage.String(), Step: in.Step, Role: role,
		GreenSlot: string(in.Green.Slot), GreenRevision: in.Green.Revision.Name}
	if v.Service == "" {
		v.Service = in.Green.Service
	}
	if in.Blue != nil {
		v.BlueSlot, v.BlueRevision = string(in.Blue.Slot), in.Blue.Revision.Name
	}
	v.Slot, v.Revision = v.GreenSlot, v.GreenRevision
	if role == "blue" {
		v.Slot, v.Revision = v.BlueSlot, v.BlueRevision
	}
	return v
}

func render(t *template.Template, v Values) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("promonitor: %s: %w", t.Name(), err))
	}
	return b.String(), nil
}
