package ecscompute_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/google/go-cmp/cmp"
)

func TestAutoScalingSuspendedAndRestoredExactly(t *testing.T) {
	tests := []struct {
		name          string
		registered    bool
		before        awsfake.SuspendedState
		suspendOut    bool
		wantDuring    awsfake.SuspendedState
		wantRegisters int // RegisterScalableTarget calls for Prepare + two Restores
	}{
		{"nothing suspended", true, awsfake.SuspendedState{}, false,
			awsfake.SuspendedState{DynamicScalingInSuspended: true}, 2},
		{"scale-out too when asked", true, awsfake.SuspendedState{}, true,
			awsfake.SuspendedState{DynamicScalingInSuspended: true, DynamicScalingOutSuspended: true}, 2},
		{"scheduled scaling kept suspended", true, awsfake.SuspendedState{ScheduledScalingSuspended: true}, false,
			awsfake.SuspendedState{DynamicScalingInSuspended: true, ScheduledScalingSuspended: true}, 2},
		{"scale-in already suspended: nothing to change", true, awsfake.SuspendedState{DynamicScalingInSuspended: true}, false,
			awsfake.SuspendedState{DynamicScalingInSuspended: true}, 0},
		{"no scalable target", false, awsfake.SuspendedState{}, false, awsfake.SuspendedState{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{configure: func(s *ecscompute.Service) { s.SuspendScaleOut = tt.suspendOut }})
			if tt.registered {
				st.scaling.Register(awsfake.ScalableTarget{ServiceNamespace: "ecs", ResourceID: st.resource, ScalableDimension: "ecs:service:DesiredCount",
					MinCapacity: 2, MaxCapacity: 10, SuspendedState: tt.before})
			}
			ctx := context.Background()
			green := env(bluegreen.SlotB, "d1", "web:2")
			state, err := st.compute.Snapshot(ctx, green)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.before, func() awsfake.SuspendedState {
				tgt, _ := st.scaling.Target("ecs", st.resource, "ecs:service:DesiredCount")
				return tgt.SuspendedState
			}()); diff != "" {
				t.Errorf("Snapshot changed the target (-want +got):\n%s", diff)
			}
			// Prepare twice: it is idempotent, and a successor may repeat it.
			for range 2 {
				if err := st.compute.Prepare(ctx, green, state); err != nil {
					t.Fatal(err)
				}
			}
			var decoded ecscompute.ScalingState
			if err := json.Unmarshal(state, &decoded); err != nil {
				t.Fatalf("snapshot %s: %v", state, err)
			}
			if decoded.Registered != tt.registered || decoded.ResourceID != st.resource {
				t.Errorf("state = %+v, want registered=%v for %s", decoded, tt.registered, st.resource)
			}
			current := func() awsfake.SuspendedState {
				tgt, _ := st.scaling.Target("ecs", st.resource, "ecs:service:DesiredCount")
				if tgt.MinCapacity != 0 && (tgt.MinCapacity != 2 || tgt.MaxCapacity != 10) {
					t.Errorf("capacities changed to %d..%d", tgt.MinCapacity, tgt.MaxCapacity)
				}
				return tgt.SuspendedState
			}
			if diff := cmp.Diff(tt.wantDuring, current()); diff != "" {
				t.Errorf("during the deployment (-want +got):\n%s", diff)
			}
			// Restore twice: after a rollback, and again in RECONCILE_SERVICE after a crash.
			for range 2 {
				if err := st.compute.Restore(ctx, green, state); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.before, current()); diff != "" {
					t.Errorf("after Restore (-want +got):\n%s", diff)
				}
			}
			if got := st.scaling.Faults.Calls()["RegisterScalableTarget"]; got != tt.wantRegisters {
				t.Errorf("RegisterScalableTarget calls = %d, want %d", got, tt.wantRegisters)
			}
		})
	}
}

func TestRestoreRefusesForeignState(t *testing.T) {
	st := newStack(t, stackOptions{})
	err := st.compute.Restore(context.Background(), env(bluegreen.SlotB, "d1", "web:2"), json.RawMessage(`[1,2]`))
	if !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("Restore of foreign state = %v, want ErrInvalid", err)
	}
	for _, empty := range []json.RawMessage{nil, json.RawMessage("null")} {
		if err := st.compute.Restore(context.Background(), env(bluegreen.SlotB, "d1", "web:2"), empty); err != nil {
			t.Errorf("Restore(%q) = %v, want nil", empty, err)
		}
	}
}

func TestWithoutAutoScalingClient(t *testing.T) {
	st := newStack(t, stackOptions{noAutoScaler: true})
	state, err := st.compute.Snapshot(context.Background(), env(bluegreen.SlotB, "d1", "web:2"))
	if err != nil || state != nil {
		t.Errorf("Snapshot = %s, %v; want nil, nil", state, err)
	}
	if err := st.compute.Prepare(context.Background(), env(bluegreen.SlotB, "d1", "web:2"), state); err != nil {
		t.Errorf("Prepare of a nil snapshot = %v, want nil", err)
	}
	suspended, _ := json.Marshal(ecscompute.ScalingState{ResourceID: "service/prod/web", Registered: true})
	err = st.compute.Restore(context.Background(), env(bluegreen.SlotB, "d1", "web:2"), suspended)
	if !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("Restore of a suspension without a client = %v, want ErrInvalid naming Options.AutoScaling", err)
	}
}
