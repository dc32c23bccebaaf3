package bluegreen

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// HookStatus is a hook's answer, with the names of the ECS hook contract.
type HookStatus string

// Hook answers.
const (
	// HookSucceeded lets the deployment go on to the next stage.
	HookSucceeded HookStatus = "SUCCEEDED"
	// HookFailed rolls the deployment back.
	HookFailed HookStatus = "FAILED"
	// HookInProgress asks to be called again after the callback delay.
	HookInProgress HookStatus = "IN_PROGRESS"
)

// ParseHookStatus parses a hook answer as ECS spells it. Anything else is an error.
func ParseHookStatus(s string) (HookStatus, error) {
	switch HookStatus(s) {
	case HookSucceeded, HookFailed, HookInProgress:
		return HookStatus(s), nil
	}
	return "", &Error{Code: CodeInvalid, Op: "ParseHookStatus",
		Err: fmt.Errorf("hook status %q: want SUCCEEDED, FAILED or IN_PROGRESS", s)}
}

// DefaultCallbackDelay is how long the Deployer waits before calling a hook
// again after it answered IN_PROGRESS without a delay of its own (as in ECS).
const DefaultCallbackDelay = 30 * time.Second

// DefaultHookTimeout is how long a hook may keep answering IN_PROGRESS, or a
// pause hook may wait, before its timeout action is taken.
const DefaultHookTimeout = time.Hour

// HookInput is what a hook is told when it is called. It carries what the ECS
// lifecycle hook payload carries.
type HookInput struct {
	// DeploymentID identifies the deployment.
	DeploymentID string `json:"deploymentId"`
	// Service is the service being deployed.
	Service string `json:"service"`
	// Stage is the lifecycle stage the hook is bound to.
	Stage Stage `json:"stage"`
	// Step is the production traffic step (1-based) for hooks that run at every
	// step of a linear or canary shift; 0 elsewhere.
	Step int `json:"step,omitempty"`
	// Blue is the environment being replaced; nil on a service's first deployment.
	Blue *Environment `json:"blue,omitempty"`
	// Green is the environment being deployed.
	Green Environment `json:"green"`
	// Routes are the production weights and test route in force.
	Routes Routes `json:"routes"`
	// Rollback is true when the hook is called during a rollback; its answer
	// cannot stop the rollback.
	Rollback bool `json:"rollback,omitempty"`
	// Attempt counts the calls of this hook at this stage and step, from 1.
	Attempt int `json:"attempt"`
	// Details are the hook details: on the first call those configured in
	// LifecycleHook.Details; afterwards, as ECS does, the configured details
	// with the keys the hook returned with IN_PROGRESS added or replaced
	// (when both are JSON objects; otherwise what it returned). A hook keeps
	// its state here rather than in storage.
	Details json.RawMessage `json:"details,omitempty"`
}

// HookResult is a hook's answer.
type HookResult struct {
	// Status is SUCCEEDED, FAILED or IN_PROGRESS. Anything else counts as FAILED.
	Status HookStatus `json:"status"`
	// CallbackDelay is how long to wait before calling again after
	// IN_PROGRESS; DefaultCallbackDelay if zero.
	CallbackDelay time.Duration `json:"callbackDelay,omitempty"`
	// Details are handed back to the hook on its next call.
	Details json.RawMessage `json:"details,omitempty"`
	// Reason says why the hook failed (or what it is waiting for).
	Reason string `json:"reason,omitempty"`
}

// TimeoutAction is what happens when a hook times out.
type TimeoutAction string

// Timeout actions.
const (
	// TimeoutRollback rolls the deployment back (the default).
	TimeoutRollback TimeoutAction = "ROLLBACK"
	// TimeoutContinue goes on as if the hook had succeeded.
	TimeoutContinue TimeoutAction = "CONTINUE"
)

// LifecycleHook binds a hook to stages.
type LifecycleHook struct {
	// Name identifies the hook in events and results. Required, unique.
	Name string
	// Stages are the stages the hook runs at; each must take hooks (see Stage.TakesHooks).
	Stages []Stage
	// Hook is the code to call. Exactly one of Hook and Pause is set.
	Hook Hook
	// Pause makes this a pause hook (ECS's PAUSE type): the deployment waits
	// at the stage until the caller calls Continue or Rollback, or the
	// timeout acts.
	Pause bool
	// Timeout bounds the time a hook may answer IN_PROGRESS, or a pause may
	// wait, at one stage (and step). DefaultHookTimeout if zero.
	Timeout time.Duration
	// TimeoutAction is taken at the timeout: TimeoutRollback (the default) or TimeoutContinue.
	TimeoutAction TimeoutAction
	// Details are handed to the hook on its first call at each stage, as ECS
	// passes a hook's configured hookDetails.
	Details json.RawMessage
}

// IsPause reports whether the hook is a pause hook.
func (h LifecycleHook) IsPause() bool { return h.Pause }

func (h LifecycleHook) timeout() time.Duration {
	if h.Timeout == 0 {
		return DefaultHookTimeout
	}
	return h.Timeout
}

func (h LifecycleHook) validate(field string) error {
	if strings.TrimSpace(h.Name) == "" {
		return &ConfigError{Field: field + ".Name", Problem: "empty", Fix: "name every hook; names appear in events and rollback reasons"}
	}
	if len(h.Stages) == 0 {
		return &ConfigError{Field: field + ".Stages", Problem: "no stages", Fix: "bind the hook to at least one stage that takes hooks"}
	}
	switch {
	case h.Hook == nil && !h.Pause:
		return &ConfigError{Field: field + ".Hook", Problem: "nil", Fix: "set the Hook to call, or Pause: true for a pause hook"}
	case h.Hook != nil && h.Pause:
		return &ConfigError{Field: field + ".Pause", Problem: "set together with Hook", Fix: "a hook either calls code (Hook) or waits for Continue (Pause), not both"}
	}
	seen := map[Stage]bool{}
	for i, s := range h.Stages {
		f := fmt.Sprintf("%s.Stages[%d]", field, i)
		switch {
		case !s.Valid():
			return &ConfigError{Field: f, Problem: fmt.Sprintf("unknown stage %d", uint8(s)), Fix: "use one of the Stage constants"}
		case !s.TakesHooks():
			return &ConfigError{Field: f, Problem: s.String() + " takes no hooks",
				Fix: "bind hooks to RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT or POST_PRODUCTION_TRAFFIC_SHIFT"}
		case h.IsPause() && !s.TakesPauseHooks():
			return &ConfigError{Field: f, Problem: "a pause hook cannot stop " + s.String(),
				Fix: "pause on the stage before or after it, or set a Hook to call instead of Pause"}
		case seen[s]:
			return &ConfigError{Field: f, Problem: s.String() + " listed twice", Fix: "list each stage once"}
		}
		seen[s] = true
	}
	if h.Timeout < 0 {
		return &ConfigError{Field: field + ".Timeout", Problem: fmt.Sprintf("negative (%v)", h.Timeout), Fix: "use a positive duration, or 0 for the default of 1h"}
	}
	switch h.TimeoutAction {
	case "", TimeoutRollback, TimeoutContinue:
	default:
		return &ConfigError{Field: field + ".TimeoutAction", Problem: fmt.Sprintf("unknown action %q", h.TimeoutAction), Fix: "use ROLLBACK or CONTINUE"}
	}
	if len(h.Details) > 0 && !json.Valid(h.Details) {
		return &ConfigError{Field: field + ".Details", Problem: "not valid JSON", Fix: "encode hook details as a JSON object"}
	}
	return nil
}
