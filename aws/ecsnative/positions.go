package ecsnative

import (
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
)

// index returns the index of (stage, step), or -1.
func (f *follower) index(stage bluegreen.Stage, step int) int {
	for i, p := range f.positions {
		if p.Stage == stage && p.Step == step {
			return i
		}
	}
	return -1
}

// position maps what ECS shows (its lifecycleStage and green's production
// weight) to the position reached, or -1.
func (f *follower) position(sd *ecstypes.ServiceDeployment) int {
	if sd.LifecycleStage == ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift {
		if awaitingPause(sd) {
			return f.index(f.pauseStage(sd))
		}
		k := f.stepsAt(productionWeight(sd))
		if k == 0 {
			return f.index(bluegreen.StagePreProductionTrafficShift, 1)
		}
		return f.index(bluegreen.StageProductionTrafficShift, min(k, len(f.spec.Steps)))
	}
	s, err := bluegreen.ParseStage(string(sd.LifecycleStage))
	if err != nil {
		return -1
	}
	return f.index(s, 0)
}

// report reports every position after the last one reported up to i, in
// order (a poll may skip short stages), with the traffic each puts in
// force. A re-attached engine starts its report at the first position it
// sees.
func (f *follower) report(i int) {
	if f.reattached {
		f.reattached = false
		f.at = max(f.at, i-1)
	}
	for f.at < i {
		f.at++
		p := f.positions[f.at]
		f.run.Stage(p.Stage, p.Step)
		switch p.Stage {
		case bluegreen.StageTestTrafficShift:
			f.run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB})
		case bluegreen.StageProductionTrafficShift:
			f.run.Traffic(bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, f.spec.Steps[p.Step-1].Green), Test: bluegreen.SlotB})
		}
	}
}
