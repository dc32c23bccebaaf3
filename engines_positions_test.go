package bluegreen_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bluegreen-go/bluegreen"
)

// TestEngineSpecPositions: an engine is told every stage once, in order,
// the two production shift stages once per step.
func TestEngineSpecPositions(t *testing.T) {
	s := func(st bluegreen.Stage, step int) bluegreen.Position {
		return bluegreen.Position{Stage: st, Step: step}
	}
	head := []bluegreen.Position{s(bluegreen.StageReconcileService, 0), s(bluegreen.StagePreScaleUp, 0), s(bluegreen.StageScaleUp, 0),
		s(bluegreen.StagePostScaleUp, 0), s(bluegreen.StageTestTrafficShift, 0), s(bluegreen.StagePostTestTrafficShift, 0)}
	tail := []bluegreen.Position{s(bluegreen.StagePostProductionTrafficShift, 0), s(bluegreen.StageBakeTime, 0), s(bluegreen.StageCleanUp, 0)}
	for _, tt := range []struct {
		name  string
		steps []bluegreen.Step
		shift []bluegreen.Position
	}{
		{"all at once", []bluegreen.Step{{Green: 1000}}, []bluegreen.Position{
			s(bluegreen.StagePreProductionTrafficShift, 1), s(bluegreen.StageProductionTrafficShift, 1)}},
		{"two steps", []bluegreen.Step{{Green: 500, Wait: time.Minute}, {Green: 1000}}, []bluegreen.Position{
			s(bluegreen.StagePreProductionTrafficShift, 1), s(bluegreen.StageProductionTrafficShift, 1),
			s(bluegreen.StagePreProductionTrafficShift, 2), s(bluegreen.StageProductionTrafficShift, 2)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := append(append(append([]bluegreen.Position{}, head...), tt.shift...), tail...)
			if diff := cmp.Diff(want, bluegreen.EngineSpec{Steps: tt.steps}.Positions()); diff != "" {
				t.Errorf("Positions (-want +got):\n%s", diff)
			}
		})
	}
}
