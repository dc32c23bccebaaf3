package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// statusReport is what status prints.
type statusReport struct {
	Service string `json:"service"`
	// Live is the environment serving production; null before the first deployment.
	Live *envSummary `json:"live"`
	// Lease is the claim of a deployment in flight, if any.
	Lease *leaseSummary `json:"lease,omitempty"`
	// Deployment is the deployment in flight, or the last one to finish.
	Deployment *deploymentSummary `json:"deployment,omitempty"`
	// Instances are the detached instances of each slot.
	Instances map[bluegreen.Slot][]instanceSummary `json:"instances"`
	// Routes are the daemon's routes for the service, with -proxy-admin.
	Routes *bluegreen.Routes `json:"routes,omitempty"`
	// Orphans are instances that no deployment owns; the next deploy or
	// reconcile kills them.
	Orphans []orphan `json:"orphans,omitempty"`
}

type leaseSummary struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
	// Held is false once the lease has expired: its owner died, and the
	// next deploy or reconcile may take the service over.
	Held bool `json:"held"`
}

type deploymentSummary struct {
	ID        string           `json:"id"`
	Phase     string           `json:"phase"`
	Stage     string           `json:"stage"`
	Step      int              `json:"step,omitempty"`
	Green     *envSummary      `json:"green"`
	Blue      *envSummary      `json:"blue,omitempty"`
	Routes    string           `json:"routes"`
	ShiftDone bool             `json:"shiftDone,omitempty"`
	Rollback  *rollbackSummary `json:"rollback,omitempty"`
	Started   time.Time        `json:"started"`
	Updated   time.Time        `json:"updated"`
}

type instanceSummary struct {
	Index   int    `json:"index"`
	PID     int    `json:"pid"`
	Addr    string `json:"addr"`
	Running bool   `json:"running"`
	Exit    string `json:"exit,omitempty"`
	Log     string `json:"log"`
}

func statusCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseCommon("status", args, false, stdout)
	if err != nil {
		return parseFailed("status", err, stderr)
	}
	rep, err := status(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bluegreen status: %v\n", err)
		return exitCode(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		fmt.Fprintf(stderr, "bluegreen status: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}

// status reads the service's record and instances, changing nothing.
func status(ctx context.Context, o commonOptions, stderr io.Writer) (statusReport, error) {
	if fi, err := os.Stat(o.stateDir); err != nil || !fi.IsDir() {
		return statusReport{}, &flagError{"state", fmt.Sprintf("%q is not a directory", o.stateDir), "give the -state directory deploy used"}
	}
	b, err := openBackends(ctx, o, proxy.ErrorRate{}, stderr)
	if err != nil {
		return statusReport{}, err
	}
	defer b.close()
	rec, err := bluegreen.ReadState(ctx, b.store, o.service)
	if err != nil {
		return statusReport{}, err
	}
	rep := statusReport{Service: o.service, Live: summarizeEnv(rec.Live), Instances: map[bluegreen.Slot][]instanceSummary{}}
	if rec.LeaseOwner != "" {
		rep.Lease = &leaseSummary{Owner: rec.LeaseOwner, Expires: rec.LeaseExpires, Held: time.Now().Before(rec.LeaseExpires)}
	}
	if d := rec.Deployment; d != nil {
		ds := &deploymentSummary{ID: d.ID, Phase: phaseOf(d), Stage: d.Stage.String(), Step: d.Step,
			Green: summarizeEnv(&d.Green), Blue: summarizeEnv(d.Blue), Routes: d.Routes.String(),
			ShiftDone: d.Stage >= bluegreen.StagePostProductionTrafficShift && !d.RollingBack && d.Outcome != bluegreen.OutcomeRolledBack,
			Started:   d.Started, Updated: d.Updated}
		if rb := d.Rollback; rb != nil {
			ds.Rollback = &rollbackSummary{Trigger: rb.Trigger, By: rb.By, Reason: rb.Reason, Stage: rb.Stage.String(), Step: rb.Step}
		}
		rep.Deployment = ds
	}
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		for _, in := range b.compute.Instances(o.service, slot) {
			rep.Instances[slot] = append(rep.Instances[slot], instanceSummary{Index: in.Index, PID: in.PID, Addr: in.Addr,
				Running: in.Running, Exit: in.Exit, Log: in.LogPath})
		}
	}
	if rep.Orphans, err = findOrphans(ctx, b.store, o.service, b.logDir); err != nil {
		return statusReport{}, err
	}
	if b.client != nil {
		r, err := b.client.Routes(ctx, o.service)
		if err != nil {
			return statusReport{}, fmt.Errorf("reading the daemon's routes: %w", err)
		}
		rep.Routes = &r
	}
	return rep, nil
}

// phaseOf names where a deployment stands as a whole: RUNNING,
// ROLLING_BACK, or how it finished.
func phaseOf(d *bluegreen.DeploymentState) string {
	switch {
	case d.Finished:
		return string(d.Outcome)
	case d.RollingBack:
		return "ROLLING_BACK"
	}
	return "RUNNING"
}
