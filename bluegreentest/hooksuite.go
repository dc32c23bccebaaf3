package bluegreentest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	gocmp "github.com/google/go-cmp/cmp"
)

// TestHook runs the conformance tests of hook adapters: a bluegreen.Hook
// that puts a transport (a Lambda invocation, an HTTP call) between the
// Deployer and a user's hook. newHarness returns the adapter wired to a
// user's hook that answers with answer; it is called once per subtest. The
// contract:
//
//   - The user's hook receives the input's DeploymentID, Stage and Details
//     (JSON compared by value); an adapter that carries more fields tests
//     them itself.
//   - Answers SUCCEEDED, FAILED and IN_PROGRESS come back as such, with an
//     IN_PROGRESS answer's CallbackDelay (whole seconds, as ECS counts
//     them) and Details. A FAILED answer's Reason need not survive.
//   - An error from the user's hook comes back either as an error or as a
//     FAILED result with a Reason; never as SUCCEEDED or IN_PROGRESS.
func TestHook(t *testing.T, newHarness func(t *testing.T, answer bluegreen.HookFunc) bluegreen.Hook) {
	t.Helper()
	t.Run("DeliversInput", func(t *testing.T) { hookDeliversInput(t, newHarness) })
	t.Run("MapsAnswers", func(t *testing.T) { hookMapsAnswers(t, newHarness) })
	t.Run("AnswerError", func(t *testing.T) { hookAnswerError(t, newHarness) })
}

// sampleEnvs returns the blue and green environments of a sample deployment d-1.
func sampleEnvs() (blue *bluegreen.Environment, green bluegreen.Environment) {
	return &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d-0", Revision: bluegreen.Revision{Name: "web:41"}},
		bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "d-1", Revision: bluegreen.Revision{Name: "web:42"}}
}

// sampleHookInput is a hook input with every field set.
func sampleHookInput() bluegreen.HookInput {
	blue, green := sampleEnvs()
	return bluegreen.HookInput{
		DeploymentID: "d-1",
		Service:      "web",
		Stage:        bluegreen.StageProductionTrafficShift,
		Step:         3,
		Blue:         blue,
		Green:        green,
		Routes:       bluegreen.Routes{Production: bluegreen.Weights{A: 700, B: 300}, Test: bluegreen.SlotB},
		Attempt:      2,
		Details:      json.RawMessage(`{"token":"abc","n":2}`),
	}
}

func hookDeliversInput(t *testing.T, newHarness func(*testing.T, bluegreen.HookFunc) bluegreen.Hook) {
	var (
		mu  sync.Mutex
		got []bluegreen.HookInput
	)
	h := newHarness(t, func(_ context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		mu.Lock()
		got = append(got, in)
		mu.Unlock()
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})
	in := sampleHookInput()
	if _, err := h.Run(t.Context(), in); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the user's hook was never called")
	}
	type carried struct {
		DeploymentID string
		Stage        bluegreen.Stage
		Details      json.RawMessage
	}
	want := carried{in.DeploymentID, in.Stage, in.Details}
	last := got[len(got)-1]
	if diff := gocmp.Diff(want, carried{last.DeploymentID, last.Stage, last.Details}, equateJSON); diff != "" {
		t.Errorf("the user's hook received (-want +got):\n%s", diff)
	}
}

func hookMapsAnswers(t *testing.T, newHarness func(*testing.T, bluegreen.HookFunc) bluegreen.Hook) {
	for _, tc := range []struct {
		name   string
		answer bluegreen.HookResult
		want   bluegreen.HookResult
	}{
		{"Succeeded", bluegreen.HookResult{Status: bluegreen.HookSucceeded}, bluegreen.HookResult{Status: bluegreen.HookSucceeded}},
		{"Failed", bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "smoke tests failed"}, bluegreen.HookResult{Status: bluegreen.HookFailed}},
		{"InProgress",
			bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 45 * time.Second, Details: json.RawMessage(`{"run":2,"ids":["a","b"]}`)},
			bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 45 * time.Second, Details: json.RawMessage(`{"run":2,"ids":["a","b"]}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) { return tc.answer, nil })
			got, err := h.Run(t.Context(), sampleHookInput())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got.Reason = "" // need not survive; see the contract
			if diff := gocmp.Diff(tc.want, got, equateJSON); diff != "" {
				t.Errorf("Run answered (-want +got):\n%s", diff)
			}
		})
	}
}

func hookAnswerError(t *testing.T, newHarness func(*testing.T, bluegreen.HookFunc) bluegreen.Hook) {
	h := newHarness(t, func(context.Context, bluegreen.HookInput) (bluegreen.HookResult, error) {
		return bluegreen.HookResult{}, errors.New("hook crashed: nil pointer dereference")
	})
	got, err := h.Run(t.Context(), sampleHookInput())
	if err == nil && (got.Status != bluegreen.HookFailed || got.Reason == "") {
		t.Errorf("Run of a hook that failed = %+v, nil; want an error or FAILED with a reason", got)
	}
}
