package bluegreentest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	gocmp "github.com/google/go-cmp/cmp"
)

// ComputeHarness is what TestCompute needs of a compute backend, built
// fresh for every subtest.
type ComputeHarness struct {
	// Compute is the backend under test.
	Compute bluegreen.Compute
	// Service is a service the backend can run environments of, set up (and
	// torn down, with t.Cleanup) by the harness.
	Service string
	// Revision returns a revision that starts and passes its health checks.
	Revision func() bluegreen.Revision
	// FailingRevision returns a revision that never passes its health
	// checks (a command that exits, an image that does not exist); nil skips
	// the subtest that needs one.
	FailingRevision func() bluegreen.Revision
	// HealthTimeout bounds the wait for an environment to become ready, or
	// to be gone after ScaleDown; 30s if zero.
	HealthTimeout time.Duration
	// FailingWait is how long the failing revision is watched if it does
	// not report Failed; HealthTimeout if zero.
	FailingWait time.Duration
	// PollInterval is the time between Status calls while waiting; 50ms if zero.
	PollInterval time.Duration
}

// TestCompute runs the conformance tests of bluegreen.Compute against the
// backend newHarness builds; it calls newHarness once per subtest. The
// contract, from bluegreen's backend.go:
//
//   - ScaleUp starts an environment, which eventually reports a ready Status
//     (Desired > 0, every desired instance healthy, Healthy <= Running).
//   - ScaleUp is idempotent: a second call for the same environment starts
//     no second copy (Desired and Running stay as they were).
//   - An environment never started reports the zero Status and no error.
//   - The two slots of a service are independent.
//   - After ScaleDown an environment reports the zero Status (the suite
//     waits for it, for backends that drain); ScaleDown is idempotent and
//     succeeds for an environment never started.
//   - A revision that cannot pass its health checks never reports Ready; if
//     it reports Failed, it gives a Reason.
//   - Every method returns an error when its context is already canceled.
//
// The suite scales down everything it started when each subtest ends.
func TestCompute(t *testing.T, newHarness func(t *testing.T) ComputeHarness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*computeSuite, *testing.T)
	}{
		{"ScaleUpBecomesReady", (*computeSuite).scaleUpBecomesReady},
		{"ScaleUpIsIdempotent", (*computeSuite).scaleUpIsIdempotent},
		{"StatusOfUnknownIsZero", (*computeSuite).statusOfUnknownIsZero},
		{"SlotsAreIndependent", (*computeSuite).slotsAreIndependent},
		{"ScaleDownMakesStatusZero", (*computeSuite).scaleDownMakesStatusZero},
		{"ScaleDownIsIdempotent", (*computeSuite).scaleDownIsIdempotent},
		{"FailingRevisionNeverReady", (*computeSuite).failingRevisionNeverReady},
		{"CanceledContext", (*computeSuite).canceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.fn(&computeSuite{h: h, ctx: t.Context()}, t)
		})
	}
}

type computeSuite struct {
	h   ComputeHarness
	ctx context.Context
}

// env returns an environment of the harness's service with a healthy revision.
func (s *computeSuite) env(slot bluegreen.Slot, deploymentID string) bluegreen.Environment {
	return bluegreen.Environment{Service: s.h.Service, Slot: slot, Revision: s.h.Revision(), DeploymentID: deploymentID}
}

// scaleUp starts env and scales it down when the test ends.
func (s *computeSuite) scaleUp(t *testing.T, env bluegreen.Environment) {
	t.Helper()
	if err := s.h.Compute.ScaleUp(s.ctx, env); err != nil {
		t.Fatalf("ScaleUp(%v): %v", env, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.h.Compute.ScaleDown(ctx, env); err != nil {
			t.Errorf("cleanup: ScaleDown(%v): %v", env, err)
		}
	})
}

// waitReady polls env's Status until it is ready and returns it.
func (s *computeSuite) waitReady(t *testing.T, env bluegreen.Environment) bluegreen.Status {
	t.Helper()
	var st bluegreen.Status
	err := poll(s.ctx, s.h.HealthTimeout, s.h.PollInterval, func(ctx context.Context) (bool, error) {
		var err error
		st, err = s.h.Compute.Status(ctx, env)
		return st.Ready(), err
	})
	if err != nil {
		t.Fatalf("%v never became ready: %v; last status %+v", env, err, st)
	}
	if st.Running < st.Healthy {
		t.Errorf("Status(%v) = %+v: more healthy instances than running ones", env, st)
	}
	return st
}

// waitGone polls env's Status until it is the zero Status.
func (s *computeSuite) waitGone(t *testing.T, env bluegreen.Environment) {
	t.Helper()
	var st bluegreen.Status
	err := poll(s.ctx, s.h.HealthTimeout, s.h.PollInterval, func(ctx context.Context) (bool, error) {
		var err error
		st, err = s.h.Compute.Status(ctx, env)
		return st == bluegreen.Status{}, err
	})
	if err != nil {
		t.Fatalf("%v still reports %+v after ScaleDown, want the zero Status: %v", env, st, err)
	}
}

func (s *computeSuite) scaleDown(t *testing.T, env bluegreen.Environment) {
	t.Helper()
	if err := s.h.Compute.ScaleDown(s.ctx, env); err != nil {
		t.Fatalf("ScaleDown(%v): %v", env, err)
	}
}

func (s *computeSuite) scaleUpBecomesReady(t *testing.T) {
	env := s.env(bluegreen.SlotA, "conformance-1")
	s.scaleUp(t, env)
	if st := s.waitReady(t, env); st.Desired <= 0 {
		t.Errorf("ready Status(%v) = %+v, want Desired > 0", env, st)
	}
}

func (s *computeSuite) scaleUpIsIdempotent(t *testing.T) {
	env := s.env(bluegreen.SlotB, "conformance-1")
	s.scaleUp(t, env)
	s.scaleUp(t, env) // at once, while it may still be starting
	first := s.waitReady(t, env)
	s.scaleUp(t, env) // and again once it runs
	second := s.waitReady(t, env)
	type size struct{ Desired, Running int }
	if diff := gocmp.Diff(size{first.Desired, first.Running}, size{second.Desired, second.Running}); diff != "" {
		t.Errorf("a repeated ScaleUp(%v) changed its size (-before +after):\n%s", env, diff)
	}
	if first.Running > first.Desired {
		t.Errorf("after ScaleUp(%v) twice, Status = %+v: more running than desired, a second copy?", env, first)
	}
}

func (s *computeSuite) statusOfUnknownIsZero(t *testing.T) {
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		env := s.env(slot, "conformance-never-started")
		st, err := s.h.Compute.Status(s.ctx, env)
		if err != nil || st != (bluegreen.Status{}) {
			t.Errorf("Status(%v) of an environment never started = %+v, %v; want the zero Status, nil", env, st, err)
		}
	}
}

func (s *computeSuite) slotsAreIndependent(t *testing.T) {
	a, b := s.env(bluegreen.SlotA, "conformance-1"), s.env(bluegreen.SlotB, "conformance-2")
	s.scaleUp(t, a)
	s.waitReady(t, a)
	if st, err := s.h.Compute.Status(s.ctx, b); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("with only slot A started, Status(%v) = %+v, %v; want the zero Status, nil", b, st, err)
	}
	s.scaleUp(t, b)
	s.waitReady(t, b)
	s.scaleDown(t, a)
	s.waitGone(t, a)
	if st, err := s.h.Compute.Status(s.ctx, b); err != nil || !st.Ready() {
		t.Errorf("after ScaleDown(%v), Status(%v) = %+v, %v; want it still ready", a, b, st, err)
	}
}

func (s *computeSuite) scaleDownMakesStatusZero(t *testing.T) {
	env := s.env(bluegreen.SlotA, "conformance-1")
	s.scaleUp(t, env)
	s.waitReady(t, env)
	s.scaleDown(t, env)
	s.waitGone(t, env)
}

func (s *computeSuite) scaleDownIsIdempotent(t *testing.T) {
	env := s.env(bluegreen.SlotB, "conformance-1")
	s.scaleUp(t, env)
	s.waitReady(t, env)
	s.scaleDown(t, env)
	s.scaleDown(t, env)
	s.waitGone(t, env)
	s.scaleDown(t, env)
	s.scaleDown(t, s.env(bluegreen.SlotA, "conformance-never-started"))
}

func (s *computeSuite) failingRevisionNeverReady(t *testing.T) {
	if s.h.FailingRevision == nil {
		t.Skip("the harness gives no FailingRevision")
	}
	env := bluegreen.Environment{Service: s.h.Service, Slot: bluegreen.SlotB, Revision: s.h.FailingRevision(), DeploymentID: "conformance-failing"}
	s.scaleUp(t, env)
	var st bluegreen.Status
	wait := s.h.FailingWait
	if wait == 0 {
		wait = s.h.HealthTimeout
	}
	err := poll(s.ctx, wait, s.h.PollInterval, func(ctx context.Context) (bool, error) {
		var err error
		st, err = s.h.Compute.Status(ctx, env)
		return st.Failed || st.Ready(), err
	})
	switch {
	case st.Ready():
		t.Fatalf("the failing revision's Status(%v) = %+v: ready", env, st)
	case err == nil && st.Reason == "":
		t.Errorf("Status(%v) = %+v: Failed without a Reason", env, st)
	case err != nil && !errors.Is(err, errNotYet):
		t.Fatalf("Status(%v): %v", env, err)
	}
}

func (s *computeSuite) canceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(s.ctx)
	cancel()
	env := s.env(bluegreen.SlotA, "conformance-canceled")
	t.Cleanup(func() { _ = s.h.Compute.ScaleDown(context.Background(), env) })
	if err := s.h.Compute.ScaleUp(ctx, env); err == nil {
		t.Error("ScaleUp with a canceled context succeeded, want an error")
	}
	if _, err := s.h.Compute.Status(ctx, env); err == nil {
		t.Error("Status with a canceled context succeeded, want an error")
	}
	if err := s.h.Compute.ScaleDown(ctx, env); err == nil {
		t.Error("ScaleDown with a canceled context succeeded, want an error")
	}
}
