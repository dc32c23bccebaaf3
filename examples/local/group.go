package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/timeline"
)

// The demo's fourth part is a release group: two services, "api" and
// "worker", each the sample app run by the local backend behind the same
// proxy, which tells them apart by host name. Their v1 is deployed as one
// group; then the group's v2, whose worker fails half its requests: the
// worker's error-rate monitor fires and both members are rolled back.

// groupName names the demo's release group.
const groupName = "backend"

// groupMembers are the group's services, each reached through the proxy
// with Host: SERVICE.localhost.
var groupMembers = []string{"api", "worker"}

// groupEnv is what the group's deployments share with the others.
type groupEnv struct {
	px     *proxy.Proxy
	store  bluegreen.Store
	base   bluegreen.Config
	app    string // the sample app's binary
	svgDir string
	prog   *progress
	o      options
}

// groupSummary describes one deployment of the release group for the
// final JSON line.
type groupSummary struct {
	Group    string   `json:"group"`
	Revision string   `json:"revision"`
	Outcome  string   `json:"outcome"`
	Stages   []string `json:"stages"`
	// RollbackMember names the member whose failure rolled the group
	// back; RollbackBy names the cause within it (the monitor).
	RollbackMember string `json:"rollbackMember,omitempty"`
	RollbackBy     string `json:"rollbackBy,omitempty"`
	Rollback       string `json:"rollbackReason,omitempty"`
	// RollbackMillis is the time from the monitor's trigger to every
	// member's production traffic verified back on blue.
	RollbackMillis float64         `json:"rollbackMs,omitempty"`
	Members        []memberSummary `json:"members"`
	// Timeline is the SVG picture of the group's deployment: a lane per
	// member and one for the group.
	Timeline string `json:"timeline"`
}

// memberSummary describes a member of a group's deployment.
type memberSummary struct {
	Service  string `json:"service"`
	Revision string `json:"revision"`
	Outcome  string `json:"outcome"`
	// Live is the revision live afterwards.
	Live        string `json:"live"`
	ServedBlue  int    `json:"servedByBlue"`
	ServedGreen int    `json:"servedByGreen"`
	Failed      int    `json:"failed"`
	AppErrors   int    `json:"app5xx"`
}

// runGroup deploys the release group twice, numbering its timelines from
// first, and returns what it did so far, even with an error.
func runGroup(ctx context.Context, e groupEnv, first int) ([]groupSummary, error) {
	for _, svc := range groupMembers {
		if err := e.px.ConfigureService(ctx, svc, proxy.ServiceConfig{Hosts: []string{svc + ".localhost"}}); err != nil {
			return nil, err
		}
	}
	d, err := bluegreen.New(e.base)
	if err != nil {
		return nil, err
	}
	lds := make([]*load, len(groupMembers))
	for i, svc := range groupMembers {
		lds[i] = newLoad("http://"+e.px.Addr()+"/", svc+".localhost", e.o.rate)
	}
	plan := []struct {
		title string
		rev   string
		// env configures each member's revision.
		env  map[string]map[string]string
		mods func(*bluegreen.Group)
	}{
		{"group v1: api and worker, first deployed together", "v1", nil, func(*bluegreen.Group) {}},
		{"group v2: a bad worker (half its requests fail) rolls back api too", "v2",
			map[string]map[string]string{"worker": {"FAIL_RATE": "0.5"}}, func(g *bluegreen.Group) {
				g.Shift, g.BakeTime = bluegreen.Linear(25, e.o.step), e.o.bake
				for i := range g.Members {
					// Each member is judged by its own requests.
					g.Members[i].Monitors = []bluegreen.Monitor{e.px}
				}
			}},
	}
	var out []groupSummary
	for i, p := range plan {
		if i == 1 {
			// Both are live: load each through the proxy from now on.
			for _, ld := range lds {
				defer ld.start(ctx)()
			}
		}
		g := bluegreen.Group{Name: groupName}
		tallies := make([]*tally, len(groupMembers))
		for j, svc := range groupMembers {
			rev, err := local.Spec{Command: e.app, Env: p.env[svc], Instances: 2,
				Readiness: local.Readiness{Path: "/healthz"}, StopTimeout: local.Duration(5 * time.Second)}.Revision(p.rev)
			if err != nil {
				return out, err
			}
			g.Members = append(g.Members, bluegreen.Member{Service: svc, Revision: rev})
			tallies[j] = newTally()
			lds[j].current.Store(tallies[j])
		}
		p.mods(&g)
		green := bluegreen.SlotA
		if rec, err := bluegreen.ReadState(ctx, e.store, groupMembers[0]); err == nil && rec.Live != nil {
			green = rec.Live.Slot.Other()
		}
		e.prog.begin(p.title, green, true, lds...)
		sampling, stopSampling := context.WithCancel(ctx)
		samples := make(chan []timeline.Sample, 1)
		go func() { samples <- sampleProxy(sampling, e.px, groupMembers...) }()
		evs, gr, err := deployGroup(ctx, d, g)
		stopSampling()
		e.prog.end()
		ss := <-samples
		if err != nil {
			return out, err
		}
		gs := summarizeGroup(p.rev, gr, evs, tallies)
		gs.Timeline = filepath.Join(e.svgDir, fmt.Sprintf("%d-%s-%s.svg", first+i, groupName, p.rev))
		if err := writeTimeline(gs.Timeline, evs, ss, timeline.Options{Title: p.title}); err != nil {
			return out, err
		}
		e.prog.note("timeline: " + gs.Timeline)
		out = append(out, gs)
	}
	return out, nil
}

// deployGroup deploys g, collecting its events (every member's and the
// group's own). A rollback is not an error here; a failure is.
func deployGroup(ctx context.Context, d *bluegreen.Deployer, g bluegreen.Group) ([]bluegreen.Event, bluegreen.GroupResult, error) {
	dep, err := d.StartGroup(ctx, g)
	if err != nil {
		return nil, bluegreen.GroupResult{}, err
	}
	var evs []bluegreen.Event
	for ev, err := range dep.Events(ctx) {
		if err != nil {
			return evs, bluegreen.GroupResult{}, err
		}
		evs = append(evs, ev)
	}
	_, werr := dep.Wait(ctx)
	gr, ok := dep.GroupResult()
	switch {
	case !ok:
		return evs, gr, fmt.Errorf("release group %s: no result: %w", g.Name, werr)
	case gr.Outcome == bluegreen.OutcomeFailed:
		return evs, gr, werr
	}
	return evs, gr, nil
}

// summarizeGroup describes a group's deployment for the final JSON line;
// tallies are the members' loads, in groupMembers order.
func summarizeGroup(rev string, gr bluegreen.GroupResult, evs []bluegreen.Event, tallies []*tally) groupSummary {
	s := groupSummary{Group: gr.Group, Revision: rev, Outcome: string(gr.Outcome), RollbackMember: gr.RollbackMember}
	if gr.Rollback != nil {
		s.RollbackBy, s.Rollback = gr.Rollback.By, gr.Rollback.Reason
	}
	var fired, back time.Time
	for _, ev := range evs {
		switch {
		case ev.Member == "" && ev.Kind == bluegreen.EventStageStarted && (len(s.Stages) == 0 || s.Stages[len(s.Stages)-1] != ev.Stage.String()):
			s.Stages = append(s.Stages, ev.Stage.String())
		case ev.Kind == bluegreen.EventMonitorFired && fired.IsZero():
			fired = ev.Time
		case ev.Kind == bluegreen.EventTrafficVerified && ev.DuringRollback && ev.Time.After(back):
			back = ev.Time
		}
	}
	if !fired.IsZero() && back.After(fired) {
		s.RollbackMillis = float64(back.Sub(fired).Microseconds()) / 1000
	}
	for i, res := range gr.Members {
		_, failed, appErrors, byVersion := tallies[i].snapshot()
		m := memberSummary{Service: res.Service, Revision: res.Green.Revision.Name, Outcome: string(res.Outcome),
			ServedGreen: byVersion[res.Green.Revision.Name], Failed: failed, AppErrors: appErrors}
		if res.Blue != nil {
			m.ServedBlue = byVersion[res.Blue.Revision.Name]
		}
		if res.Live != nil {
			m.Live = res.Live.Revision.Name
		}
		s.Members = append(s.Members, m)
	}
	return s
}
