package bluegreentest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Answer is one scripted answer of a fake Hook: an error if Err is set, else Result.
type Answer struct {
	// Result is the hook's answer when Err is nil.
	Result bluegreen.HookResult
	// Err, if set, is returned instead of a result.
	Err error
}

// Succeed answers SUCCEEDED.
func Succeed() Answer { return Answer{Result: bluegreen.HookResult{Status: bluegreen.HookSucceeded}} }

// Fail answers FAILED with reason.
func Fail(reason string) Answer {
	return Answer{Result: bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: reason}}
}

// InProgress answers IN_PROGRESS, asking to be called again after delay (the
// Deployer's default if zero) with details handed back.
func InProgress(delay time.Duration, details json.RawMessage) Answer {
	return Answer{Result: bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: delay, Details: details}}
}

// Error answers with err instead of a result. Give it a retryable code
// (bluegreen.NewError(bluegreen.CodeTransient, err)) for an error the
// Deployer calls again after the callback delay; any other error counts as FAILED.
func Error(err error) Answer { return Answer{Err: err} }

// Hook is a scripted bluegreen.Hook. It is safe for concurrent use and
// records every call (see Recorder; the operation is "Run") with its
// HookInput, which Inputs returns.
//
// Its answers come from a script: a sequence of answers per stage, given in
// order on the calls at that stage (across steps and rollbacks), the last one
// repeating. A stage without a script of its own uses the default script,
// and an empty script answers SUCCEEDED. A Hook made by NewHookFunc asks its
// function instead.
type Hook struct {
	Recorder

	fn bluegreen.HookFunc

	mu      sync.Mutex
	def     []Answer
	byStage map[bluegreen.Stage][]Answer
	next    map[bluegreen.Stage]int
}

// NewHook returns a hook that gives answers, in order, at every stage.
func NewHook(answers ...Answer) *Hook {
	return &Hook{def: answers, byStage: map[bluegreen.Stage][]Answer{}, next: map[bluegreen.Stage]int{}}
}

// NewHookFunc returns a hook that records its calls and answers with fn.
func NewHookFunc(fn bluegreen.HookFunc) *Hook {
	h := NewHook()
	h.fn = fn
	return h
}

// On gives stage its own script, replacing its default one, and returns h.
// The stage's answers start from the first.
func (h *Hook) On(stage bluegreen.Stage, answers ...Answer) *Hook {
	h.mu.Lock()
	h.byStage[stage] = answers
	h.next[stage] = 0
	h.mu.Unlock()
	return h
}

// Run records in and gives the next scripted answer for its stage.
func (h *Hook) Run(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
	detail := fmt.Sprintf("%s step %d attempt %d", in.Stage, in.Step, in.Attempt)
	if in.Rollback {
		detail += " rollback"
	}
	if err := h.record(ctx, Call{Op: "Run", Service: in.Service, Detail: detail, Arg: cloneHookInput(in)}); err != nil {
		return bluegreen.HookResult{}, err
	}
	if h.fn != nil {
		return h.fn(ctx, in)
	}
	a := h.answer(in.Stage)
	if a.Err != nil {
		return bluegreen.HookResult{}, a.Err
	}
	res := a.Result
	res.Details = cloneRaw(res.Details)
	return res, nil
}

func (h *Hook) answer(stage bluegreen.Stage) Answer {
	h.mu.Lock()
	defer h.mu.Unlock()
	script, ok := h.byStage[stage]
	if !ok {
		script = h.def
	}
	if len(script) == 0 {
		return Succeed()
	}
	i := min(h.next[stage], len(script)-1)
	h.next[stage] = i + 1
	return script[i]
}

// Inputs returns every HookInput the hook received, in order.
func (h *Hook) Inputs() []bluegreen.HookInput {
	return argsOf(&h.Recorder, "Run", cloneHookInput)
}

var _ bluegreen.Hook = (*Hook)(nil)
