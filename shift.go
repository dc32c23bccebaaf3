package bluegreen

import (
	"fmt"
	"time"
)

// ShiftType names a production traffic shift strategy, as ECS names them.
type ShiftType string

// Shift strategies.
const (
	// ShiftAllAtOnce moves all production traffic to green in one step.
	ShiftAllAtOnce ShiftType = "ALL_AT_ONCE"
	// ShiftLinear moves traffic in equal steps with a wait after each.
	ShiftLinear ShiftType = "LINEAR"
	// ShiftCanary moves a canary share, waits, then moves the rest.
	ShiftCanary ShiftType = "CANARY"
	// ShiftSteps follows an explicit schedule.
	ShiftSteps ShiftType = "STEPS"
)

// Step is one production traffic step: green's share after the step, and how
// long to wait (watching monitors) before the next step. The last step's wait
// is the deployment's bake time, so its Wait must be zero.
type Step struct {
	// Green is green's share of production traffic after the step.
	Green Weight `json:"green"`
	// Wait is how long to hold the step before the next one.
	Wait time.Duration `json:"wait,omitempty"`
}

// Shift is a production traffic shift strategy. Build one with AllAtOnce,
// Linear, Canary or Steps; the zero Shift is AllAtOnce.
type Shift struct {
	// Type is the strategy.
	Type ShiftType `json:"type,omitempty"`
	// Percent is the linear step or the canary share (ECS's stepPercent /
	// canaryPercent), in tenths of a percent.
	Percent Weight `json:"percent,omitempty"`
	// Wait is the linear step bake time or the canary bake time.
	Wait time.Duration `json:"wait,omitempty"`
	// Schedule is the explicit schedule of ShiftSteps.
	Schedule []Step `json:"schedule,omitempty"`
}

// AllAtOnce moves all production traffic to green in one step.
func AllAtOnce() Shift { return Shift{Type: ShiftAllAtOnce} }

// Linear moves production traffic in equal steps of stepPercent (the last
// step may be smaller), waiting stepWait after each step but the last, like
// ECS's linearConfiguration. Linear(10, time.Minute) makes ten steps.
func Linear(stepPercent float64, stepWait time.Duration) Shift {
	return Shift{Type: ShiftLinear, Percent: Percent(stepPercent), Wait: stepWait}
}

// Canary moves canaryPercent of production traffic to green, waits
// canaryWait, then moves the rest, like ECS's canaryConfiguration.
// Canary(0.1, 5*time.Minute) is a 0.1% canary.
func Canary(canaryPercent float64, canaryWait time.Duration) Shift {
	return Shift{Type: ShiftCanary, Percent: Percent(canaryPercent), Wait: canaryWait}
}

// Steps follows an explicit schedule; green's share must rise and end at Full.
func Steps(steps ...Step) Shift { return Shift{Type: ShiftSteps, Schedule: steps} }

// Resolve validates the strategy and returns its steps. field names the
// configuration field in errors.
func (s Shift) Resolve(field string) ([]Step, error) {
	switch s.Type {
	case "", ShiftAllAtOnce:
		return []Step{{Green: Full}}, nil
	case ShiftLinear, ShiftCanary:
		if s.Percent < 1 || s.Percent > Full {
			return nil, &ConfigError{Field: field + ".Percent", Problem: fmt.Sprintf("%v is outside (0%%, 100%%]", s.Percent),
				Fix: "use a share from 0.1% to 100%, as ECS's stepPercent and canaryPercent allow"}
		}
		if s.Wait < 0 {
			return nil, &ConfigError{Field: field + ".Wait", Problem: fmt.Sprintf("negative (%v)", s.Wait), Fix: "use a duration of zero or more"}
		}
		if s.Percent == Full {
			// ECS accepts 100%: everything moves in one step, and the wait
			// after it is the bake time.
			return []Step{{Green: Full}}, nil
		}
		if s.Type == ShiftCanary {
			return []Step{{Green: s.Percent, Wait: s.Wait}, {Green: Full}}, nil
		}
		n := int((Full + s.Percent - 1) / s.Percent)
		if n > maxSteps {
			return nil, &ConfigError{Field: field + ".Percent", Problem: fmt.Sprintf("%v makes %d steps", s.Percent, n),
				Fix: fmt.Sprintf("use a step of at least %v", Weight((int(Full)+maxSteps-1)/maxSteps))}
		}
		steps := make([]Step, 0, n)
		for w := s.Percent; ; w += s.Percent {
			if w >= Full {
				steps = append(steps, Step{Green: Full})
				return steps, nil
			}
			steps = append(steps, Step{Green: w, Wait: s.Wait})
		}
	case ShiftSteps:
		if len(s.Schedule) == 0 {
			return nil, &ConfigError{Field: field + ".Schedule", Problem: "empty", Fix: "list steps ending with Green: 1000 (100%)"}
		}
		if len(s.Schedule) > maxSteps {
			return nil, &ConfigError{Field: field + ".Schedule", Problem: fmt.Sprintf("%d steps", len(s.Schedule)), Fix: fmt.Sprintf("use at most %d steps", maxSteps)}
		}
		prev := Weight(0)
		for i, st := range s.Schedule {
			f := fmt.Sprintf("%s.Schedule[%d]", field, i)
			switch {
			case st.Green <= prev || st.Green > Full:
				return nil, &ConfigError{Field: f + ".Green", Problem: fmt.Sprintf("%v does not rise from %v within 100%%", st.Green, prev),
					Fix: "give green a larger share at every step, at most 1000 (100%)"}
			case st.Wait < 0:
				return nil, &ConfigError{Field: f + ".Wait", Problem: fmt.Sprintf("negative (%v)", st.Wait), Fix: "use a duration of zero or more"}
			}
			prev = st.Green
		}
		last := s.Schedule[len(s.Schedule)-1]
		if last.Green != Full {
			return nil, &ConfigError{Field: field + ".Schedule", Problem: fmt.Sprintf("ends at %v, never reaching 100%%", last.Green),
				Fix: "end the schedule with a step of Green: 1000 (100%)"}
		}
		if last.Wait != 0 {
			return nil, &ConfigError{Field: fmt.Sprintf("%s.Schedule[%d].Wait", field, len(s.Schedule)-1), Problem: "the last step has a wait",
				Fix: "set Config.BakeTime for the wait after the last step"}
		}
		return append([]Step(nil), s.Schedule...), nil
	}
	return nil, &ConfigError{Field: field + ".Type", Problem: fmt.Sprintf("unknown strategy %q", s.Type), Fix: "use ALL_AT_ONCE, LINEAR, CANARY or STEPS"}
}

// maxSteps bounds a schedule: 0.1% steps would make 1000 steps, each with
// hook calls and router round trips.
const maxSteps = 100
