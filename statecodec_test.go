package bluegreen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fullState returns a state document with every field set, from the fuzz
// inputs: strings (with quotes, control characters, invalid UTF-8, U+2028),
// numbers and times.
func fullState(s1, s2 string, n int64, sec int64, nsec int64, zone int) serviceState {
	at := time.Unix(sec%(1<<35), nsec%1e9).In(time.FixedZone("z", (zone%1440)*60))
	env := func(slot Slot, name string) *Environment {
		return &Environment{Service: s1, Slot: slot, DeploymentID: s2, Revision: Revision{Name: name, Spec: json.RawMessage(`{"image":"x","n":[1,2.5e3]}`)}}
	}
	return serviceState{Format: stateFormat, Live: env(SlotA, s2), Deployment: &deployState{
		ID: s1, Phase: phaseRollingBack, Stage: StageProductionTrafficShift, Step: int(n % 100),
		Blue: env(SlotA, s1), Green: *env(SlotB, s2), Adopted: true,
		Routes: Routes{Production: Weights{A: Weight(n % 1001), B: Full - Weight(n%1001)}, Test: SlotB},
		Before: Routes{Production: AllTo(SlotA), Test: SlotA},
		Steps:  []Step{{Green: 1, Wait: time.Duration(n)}, {Green: Full}}, BakeTime: time.Duration(-n),
		StepStarted: at, BakeUntil: at.Add(time.Hour), ShiftDone: true, Primary: true,
		Rollback: &RollbackInfo{Trigger: TriggerHook, By: s2, Reason: s1 + s2, Stage: StageBakeTime, Step: 3, At: at},
		Prepared: json.RawMessage(`{"suspended":true}`), Restored: true,
		Hooks:   []hookState{{Name: s1, Stage: StagePostScaleUp, Step: 1, Attempt: int(n % 7), Details: json.RawMessage(`{"k":"v"}`), Next: at, Deadline: at}},
		Engine:  json.RawMessage(`{"serviceDeploymentArn":"arn:aws:ecs:x"}`),
		Started: at, Updated: at.Add(time.Nanosecond),
	}}
}

// timeEqual compares times by instant, as a round trip keeps the instant
// and the offset but not the zone's name.
var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// FuzzStateCodec checks the hand-written state encoder against
// encoding/json: what it writes is valid JSON that encoding/json decodes
// into what encoding/json's own encoding of the same state decodes into.
func FuzzStateCodec(f *testing.F) {
	f.Add("web", "d-1", int64(250), int64(1_700_000_000), int64(123_456_789), 60)
	f.Add("quo\"te\\back\nline\ttab\x01", "\xff\xfeinvalid", int64(-3), int64(0), int64(0), -300)
	f.Add("\u2028\u2029<html>&", "日本語", int64(999), int64(-1), int64(999_999_999), 0)
	f.Fuzz(func(t *testing.T, s1, s2 string, n, sec, nsec int64, zone int) {
		st := fullState(s1, s2, n, sec, nsec, zone)
		got, err := st.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON: %s", got)
		}
		want, err := json.Marshal(st)
		if err != nil {
			t.Skip("encoding/json refuses it too:", err) // times outside years 0-9999
		}
		var fromOurs, fromJSON serviceState
		if err := json.Unmarshal(got, &fromOurs); err != nil {
			t.Fatalf("decoding ours: %v\n%s", err, got)
		}
		if err := json.Unmarshal(want, &fromJSON); err != nil {
			t.Fatalf("decoding encoding/json's: %v", err)
		}
		if diff := cmp.Diff(fromJSON, fromOurs, timeEqual, cmp.AllowUnexported(serviceState{}, deployState{}, hookState{})); diff != "" {
			t.Errorf("decoded (-encoding/json +ours):\n%s", diff)
		}
	})
}

// TestStateCodecZeroValues: zero fields are left out and come back zero.
func TestStateCodecZeroValues(t *testing.T) {
	for _, st := range []serviceState{{}, {Deployment: &deployState{}}, {Live: &Environment{}}} {
		b, err := st.encode()
		if err != nil {
			t.Fatal(err)
		}
		var back serviceState
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		st.Format = stateFormat
		if diff := cmp.Diff(st, back, timeEqual, cmp.AllowUnexported(serviceState{}, deployState{}, hookState{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", b, diff)
		}
	}
}
