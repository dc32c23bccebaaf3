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

	mu     sync.Mutex
	firing map[string]bluegreen.Alarm
	fn     func(bluegreen.MonitorInput) []bluegreen.Alarm
}

// NewMonitor returns a monitor with nothing firing.
func NewMonitor() *Monitor { return &Monitor{firing: map[string]bluegreen.Alarm{}} }

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

// Check returns the alarms firing, ordered by name, then those of the
// function set with SetFunc.
func (m *Monitor) Check(ctx context.Context, in bluegreen.MonitorInput) ([]bluegreen.Alarm, error) {
	if err := m.record(ctx, Call{Op: "Check", Service: in.Green.Service, Detail: in.Stage.String(), Arg: cloneMonitorInput(in)}); err != nil {
		return nil, err
	}
	m.mu.Lock()
	alarms := slices.SortedFunc(maps.Values(m.firing), func(a, b bluegreen.Alarm) int { return cmp.Compare(a.Name, b.Name) })
	fn := m.fn
	m.mu.Unlock()
	if fn != nil {
		alarms = append(alarms, fn(in)...)
	}
	return alarms, nil
}

// Inputs returns the input of every check, in order.
func (m *Monitor) Inputs() []bluegreen.MonitorInput {
	return argsOf(&m.Recorder, "Check", cloneMonitorInput)
}

var _ bluegreen.Monitor = (*Monitor)(nil)
