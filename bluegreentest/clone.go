package bluegreentest

import (
	"encoding/json"
	"slices"

	"github.com/bluegreen-go/bluegreen"
)

// The fakes keep and hand out deep copies, so a caller that mutates what it
// passed in or got back cannot change a fake's state behind its lock.

func cloneEnv(e bluegreen.Environment) bluegreen.Environment {
	e.Revision.Spec = cloneRaw(e.Revision.Spec)
	return e
}

func cloneEnvPtr(e *bluegreen.Environment) *bluegreen.Environment {
	if e == nil {
		return nil
	}
	c := cloneEnv(*e)
	return &c
}

func cloneRaw(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return slices.Clone(b)
}

func cloneHookInput(in bluegreen.HookInput) bluegreen.HookInput {
	in.Blue = cloneEnvPtr(in.Blue)
	in.Green = cloneEnv(in.Green)
	in.Details = cloneRaw(in.Details)
	return in
}

func cloneMonitorInput(in bluegreen.MonitorInput) bluegreen.MonitorInput {
	in.Blue = cloneEnvPtr(in.Blue)
	in.Green = cloneEnv(in.Green)
	return in
}
