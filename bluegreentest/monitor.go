package bluegreentest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/bluegreen-go/bluegreen"
)

// Monitor is a bluegreen.Monitor whose alarms a test sets and clears at any
// time. It is safe for concurrent use and records every check (see Recorder;
// the operation is "Check") with its MonitorInput, which Inputs returns.
type Monitor struct {
	Recorder

	name string

	mu           sync.Mutex
	firing       map[string]bluegreen.Alarm
	fn           func(bluegreen.MonitorInput) []bluegreen.Alarm
	inconclusive string
}

// NewMonitor returns a monitor named "monitor" with nothing firing.
func NewMonitor() *Monitor { return NewNamedMonitor("monitor") }

// NewNamedMonitor returns a monitor with the given name and nothing firing.
func NewNamedMonitor(name string) *Monitor {
	return &Monitor{name: name, firing: map[string]bluegreen.Alarm{}}
}

// Name returns the monitor's name.
func (m *Monitor) Name() string { return m.name }

// SetInconclusive makes every check without an alarm answer inconclusive,
// with reason (as a monitor that has not seen enough requests does); an
// empty reason makes them healthy again.
func (m *Monitor) SetInconclusive(reason string) {
	m.mu.Lock()
	m.inconclusive = reason
	m.mu.Unlock()
}

// Fire sets the alarm name firing, with reason, for every deployment.
func (m *Monitor) Fire(name, reason string) {
	m.mu.Lock()
	m.firing[name] = bluegreen.Alarm{Name: name, Reason: reason}
	m.mu.Unlock()
}

// Clear sets the named alarms back to OK; every alarm if no name is given.
func (m *Monitor) Clear(names ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(names) == 0 {
		clear(m.firing)
	}
	for _, n := range names {
		delete(m.firing, n)
	}
}

// SetFunc makes every check also report the alarms fn returns for the
// check's input (nil removes it), for alarms that depend on the deployment,
// its stage or its routes.
func (m *Monitor) SetFunc(fn func(bluegreen.MonitorInput) []bluegreen.Alarm) {
	m.mu.Lock()
	m.fn = fn
	m.mu.Unlock()
}

// Check answers ALARM with the alarms firing, ordered by name, then those of
// the function set with SetFunc; else INCONCLUSIVE if SetInconclusive set a
// reason; else HEALTHY.
func (m *Monitor) Check(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
	if err := m.record(ctx, Call{Op: "Check", Service: in.Green.Service, Detail: in.Stage.String(), Arg: cloneMonitorInput(in)}); err != nil {
		return bluegreen.Verdict{}, err
	}
	m.mu.Lock()
	alarms := slices.SortedFunc(maps.Values(m.firing), func(a, b bluegreen.Alarm) int { return cmp.Compare(a.Name, b.Name) })
	fn, inconclusive := m.fn, m.inconclusive
	m.mu.Unlock()
	if fn != nil {
		alarms = append(alarms, fn(in)...)
	}
	switch {
	case len(alarms) > 0:
		return bluegreen.Alarmed(alarms...), nil
	case inconclusive != "":
		return bluegreen.Inconclusive(inconclusive), nil
	}
	return bluegreen.Healthy(), nil
}

// Inputs returns the input of every check, in order.
func (m *Monitor) Inputs() []bluegreen.MonitorInput {
	return argsOf(&m.Recorder, "Check", cloneMonitorInput)
}

var _ bluegreen.Monitor = (*Monitor)(nil)
