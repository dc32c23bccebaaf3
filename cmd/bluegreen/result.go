package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// result is the final JSON line of deploy and reconcile. It names revisions
// and slots, never a revision's spec, whose environment may hold secrets.
type result struct {
	Command      string            `json:"command"`
	Service      string            `json:"service"`
	DeploymentID string            `json:"deploymentId,omitempty"`
	Outcome      bluegreen.Outcome `json:"outcome,omitempty"`
	Green        *envSummary       `json:"green,omitempty"`
	Blue         *envSummary       `json:"blue,omitempty"`
	Live         *envSummary       `json:"live"`
	Stage        string            `json:"stage,omitempty"`
	Rollback     *rollbackSummary  `json:"rollback,omitempty"`
	Seconds      float64           `json:"seconds"`
	Error        string            `json:"error,omitempty"`
	ExitCode     int               `json:"exitCode"`
}

// envSummary names an environment.
type envSummary struct {
	Revision     string         `json:"revision"`
	Slot         bluegreen.Slot `json:"slot"`
	DeploymentID string         `json:"deploymentId,omitempty"`
}

// rollbackSummary says why a deployment was rolled back.
type rollbackSummary struct {
	Trigger bluegreen.Trigger `json:"trigger"`
	By      string            `json:"by,omitempty"`
	Reason  string            `json:"reason"`
	Stage   string            `json:"stage"`
	Step    int               `json:"step,omitempty"`
}

func summarizeEnv(e *bluegreen.Environment) *envSummary {
	if e == nil {
		return nil
	}
	return &envSummary{Revision: e.Revision.Name, Slot: e.Slot, DeploymentID: e.DeploymentID}
}

// newResult describes res, which ended with err after took.
func newResult(command string, res bluegreen.Result, err error, took time.Duration) result {
	r := result{
		Command: command, Service: res.Service, DeploymentID: res.DeploymentID, Outcome: res.Outcome,
		Blue: summarizeEnv(res.Blue), Live: summarizeEnv(res.Live),
		Seconds: took.Round(time.Millisecond).Seconds(), ExitCode: exitCode(err),
	}
	if res.Green.Revision.Name != "" {
		r.Green = summarizeEnv(&res.Green)
	}
	if res.Stage != 0 {
		r.Stage = res.Stage.String()
	}
	if rb := res.Rollback; rb != nil {
		r.Rollback = &rollbackSummary{Trigger: rb.Trigger, By: rb.By, Reason: rb.Reason, Stage: rb.Stage.String(), Step: rb.Step}
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func (r result) write(w io.Writer) {
	b, err := json.Marshal(r)
	if err != nil { // cannot happen: every field marshals
		fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
		return
	}
	fmt.Fprintf(w, "%s\n", b)
}
