package bluegreen

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// hookCall is the state of one hook at one stage (and step).
type hookCall struct {
	h        LifecycleHook
	attempt  int
	details  json.RawMessage
	next     time.Time // when to call it (again)
	deadline time.Time
	running  bool
	done     bool
	cancel   context.CancelFunc // abandons the call in flight
}

type hookAnswer struct {
	i   int
	res HookResult
	err error
}

// runHooks runs the hooks bound to stage, in parallel, until each has
// succeeded, and handles their answers per the ECS contract: FAILED rolls
// back, IN_PROGRESS is called again after its callback delay with the details
// it returned, a timeout takes the hook's action, and pause hooks wait for
// Continue. During a rollback (rollback true) answers are reported but stop
// nothing.
func (r *run) runHooks(stage Stage, step int, rollback bool) error {
	hooks := r.d.hooks[stage]
	if len(hooks) == 0 {
		return nil
	}
	now := r.clock.Now()
	calls := make([]hookCall, len(hooks))
	answers := make(chan hookAnswer, len(hooks))
	callCtx, cancel := context.WithCancel(r.ctx)
	defer cancel() // abandons calls still running when a rollback cuts the stage short
	pending, paused := len(hooks), 0
	for i, h := range hooks {
		calls[i] = hookCall{h: h, details: h.Details, next: now, deadline: now.Add(h.timeout())}
		if saved := r.savedHook(h.Name, stage, step, rollback); saved != nil {
			// Resumed from a dead owner's state: the hook goes on where it
			// stood, with its attempt count, details and deadline.
			c := &calls[i]
			c.attempt, c.details, c.next, c.deadline = saved.Attempt, saved.Details, saved.Next, saved.Deadline
		}
		if h.IsPause() {
			paused++
			r.emit(Event{Kind: EventPaused, Hook: h.Name, Stage: stage, Step: step,
				Reason: fmt.Sprintf("waiting for Continue or Rollback, up to %v", h.timeout())})
		}
	}
	for pending > 0 {
		now = r.clock.Now()
		next := now.Add(365 * 24 * time.Hour)
		for i := range calls {
			c := &calls[i]
			if c.done {
				continue
			}
			if !now.Before(c.deadline) { // a hook call that hangs past its deadline is abandoned
				if err := r.hookTimedOut(c, stage, step, rollback); err != nil {
					return err
				}
				if c.h.IsPause() {
					paused--
				}
				pending--
				continue
			}
			if !c.h.IsPause() && !c.running && !now.Before(c.next) {
				c.running = true
				c.attempt++
				r.emit(Event{Kind: EventHookCalled, Hook: c.h.Name, Stage: stage, Step: step, Attempt: c.attempt, DuringRollback: rollback})
				in := HookInput{DeploymentID: r.st.ID, Service: r.service, Stage: stage, Step: step,
					Blue: r.st.Blue, Green: r.st.Green, Routes: r.st.Routes, Rollback: rollback,
					Attempt: c.attempt, Details: c.details}
				// The call's context carries the time left as a timeout: the
				// clock may be virtual, and the engine abandons the call at the
				// deadline by its own clock whatever the hook does.
				ctx, cancel := context.WithTimeout(callCtx, c.deadline.Sub(now))
				c.cancel = cancel
				go callHook(ctx, i, c.h.Hook, in, answers)
			}
			if !c.running && !c.h.IsPause() {
				next = minTime(next, c.next)
			}
			next = minTime(next, c.deadline)
		}
		if pending == 0 {
			break
		}
		next = r.housekeepingAt(next)
		select {
		case a := <-answers:
			c := &calls[a.i]
			c.running = false
			c.cancel()
			if c.done {
				continue // a late answer of a hook that already timed out
			}
			finished, err := r.hookAnswered(c, a, stage, step, rollback)
			if err != nil {
				return err
			}
			if finished {
				c.done = true
				pending--
			}
		case <-r.clock.After(next.Sub(now)):
			if err := r.housekeeping(); err != nil {
				return err
			}
		case cmd := <-r.dep.cmds:
			if cmd.kind == cmdContinue && paused > 0 && !rollback {
				cmd.reply <- nil
				for i := range calls {
					if c := &calls[i]; c.h.IsPause() && !c.done {
						c.done = true
						pending--
						paused--
						r.emit(Event{Kind: EventContinued, Hook: c.h.Name, Stage: stage, Step: step, Reason: "Continue called"})
					}
				}
				continue
			}
			if err := r.command(cmd); err != nil {
				return err
			}
		case <-r.ctx.Done():
			if err := r.canceled(); err != nil {
				return err
			}
		}
	}
	return nil
}

func callHook(ctx context.Context, i int, h Hook, in HookInput, out chan<- hookAnswer) {
	res, err := h.Run(ctx, in)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	out <- hookAnswer{i: i, res: res, err: err}
}

// hookAnswered handles one answer; it reports whether the hook is finished at
// this stage, or returns a rollback signal.
func (r *run) hookAnswered(c *hookCall, a hookAnswer, stage Stage, step int, rollback bool) (bool, error) {
	now := r.clock.Now()
	ev := Event{Kind: EventHookAnswered, Hook: c.h.Name, Stage: stage, Step: step, Attempt: c.attempt, DuringRollback: rollback}
	res := a.res
	if a.err != nil {
		if !now.Before(c.deadline) {
			return true, r.hookTimedOut(c, stage, step, rollback)
		}
		if ErrorCode(a.err).Retryable() && now.Before(c.deadline) {
			ev.Reason = "retrying after error: " + a.err.Error()
			r.emit(ev)
			c.next = now.Add(DefaultCallbackDelay)
			return false, nil
		}
		res = HookResult{Status: HookFailed, Reason: a.err.Error()}
	}
	if _, err := ParseHookStatus(string(res.Status)); err != nil {
		res = HookResult{Status: HookFailed, Reason: fmt.Sprintf("invalid hook status %q", res.Status)}
	} else if len(res.Details) > 0 && !json.Valid(res.Details) {
		res = HookResult{Status: HookFailed, Reason: fmt.Sprintf("the hook's details are not JSON: %.100q", res.Details)}
	}
	ev.HookStatus, ev.Reason = res.Status, res.Reason
	r.emit(ev)
	switch res.Status {
	case HookSucceeded:
		return true, nil
	case HookInProgress:
		if len(res.Details) > 0 {
			c.details = mergeDetails(c.h.Details, res.Details)
		}
		delay := res.CallbackDelay
		if delay <= 0 {
			delay = DefaultCallbackDelay
		}
		c.next = now.Add(delay)
		if !rollback {
			// Saved so that a successor resumes the hook where it stands.
			r.saveHook(hookState{Name: c.h.Name, Stage: stage, Step: step, Attempt: c.attempt, Details: c.details, Next: c.next, Deadline: c.deadline})
			if err := r.persist(); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	if rollback {
		return true, nil // a hook cannot stop a rollback
	}
	reason := res.Reason
	if reason == "" {
		reason = "hook answered FAILED"
	}
	return true, r.rollbackNow(TriggerHook, c.h.Name, reason)
}

// hookTimedOut takes the hook's timeout action.
func (r *run) hookTimedOut(c *hookCall, stage Stage, step int, rollback bool) error {
	c.done = true
	if c.running {
		c.cancel()
	}
	reason := fmt.Sprintf("timed out after %v", c.h.timeout())
	if rollback || c.h.TimeoutAction == TimeoutContinue {
		kind := EventHookAnswered
		if c.h.IsPause() {
			kind = EventContinued
		}
		r.emit(Event{Kind: kind, Hook: c.h.Name, Stage: stage, Step: step, Attempt: c.attempt, DuringRollback: rollback, Reason: reason + "; continuing"})
		return nil
	}
	r.emit(Event{Kind: EventHookAnswered, Hook: c.h.Name, Stage: stage, Step: step, Attempt: c.attempt, Reason: reason})
	return r.rollbackNow(TriggerHook, c.h.Name, reason)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// mergeDetails returns the details for a hook's next call, as ECS builds
// them: the configured details, with the keys the hook returned added or
// replaced. Details that are not both JSON objects are replaced whole.
func mergeDetails(configured, returned json.RawMessage) json.RawMessage {
	if len(configured) == 0 {
		return returned
	}
	var base, add map[string]json.RawMessage
	if json.Unmarshal(configured, &base) != nil || json.Unmarshal(returned, &add) != nil || base == nil || add == nil {
		return returned
	}
	maps.Copy(base, add)
	merged, err := json.Marshal(base)
	if err != nil {
		return returned
	}
	return merged
}

// savedHook returns the persisted state of a hook that answered IN_PROGRESS
// at this stage and step, if any.
func (r *run) savedHook(name string, stage Stage, step int, rollback bool) *hookState {
	if rollback || r.st == nil {
		return nil
	}
	for i := range r.st.Hooks {
		if h := &r.st.Hooks[i]; h.Name == name && h.Stage == stage && h.Step == step {
			return h
		}
	}
	return nil
}

// saveHook records h in the deployment's state, replacing its earlier entry.
func (r *run) saveHook(h hookState) {
	for i := range r.st.Hooks {
		if r.st.Hooks[i].Name == h.Name {
			r.st.Hooks[i] = h
			return
		}
	}
	r.st.Hooks = append(r.st.Hooks, h)
}
