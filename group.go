package bluegreen

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen/driver"
)

// This file is release groups: several services deployed as one blue/green
// transaction (Deployer.StartGroup). A coordinator goroutine owns the
// group's handle and its record; each member is a run of its own, with its
// own record, state and lease, driven position by position through the same
// stage table as a single deployment, every member's part of a position
// done before the next position begins.

// groupPrefix begins the store key of a release group's own record. Service
// names may not begin with it (validateService), so a group's record never
// collides with a service's.
const groupPrefix = "group:"

// GroupKey returns the name under which a release group named name keeps
// its own record in the store, for Deployer.State and ReadState.
func GroupKey(name string) string { return groupPrefix + name }

// Group is a release group: services deployed together as one blue/green
// transaction by Deployer.StartGroup. Every member's green is up and
// healthy before any test traffic moves; production traffic moves in
// lockstep, each step applied to (and verified by the router of) every
// member before the next; any failure in any member rolls every member
// back, all traffic first, then the greens.
type Group struct {
	// Name names the group. Its record is kept under GroupKey(Name).
	// Required, with the rules of a service name.
	Name string
	// Members are the services deployed. At least one; each service once.
	Members []Member
	// Hooks are group-level hooks, run at their stages after every
	// member's own hooks of that stage have succeeded (an integration test
	// across the services at POST_TEST_TRAFFIC_SHIFT, say). Their
	// HookInput names the group's record (GroupKey) as Service and the
	// group's name as Green.Revision.Name.
	Hooks []LifecycleHook
	// Shift is the production traffic shift of every member; AllAtOnce if zero.
	Shift Shift
	// BakeTime is the bake time of every member, baked together.
	BakeTime time.Duration
}

// Member is one service of a release group. Compute, Router, Hooks and
// Monitors default to the Deployer's Config when nil, so members may run on
// different backends.
type Member struct {
	// Service names the service. Required.
	Service string
	// Revision is what to deploy. Required by StartGroup; ignored by
	// ReconcileGroup, which reads it from the store.
	Revision Revision
	// Compute runs the member's environments; Config.Compute if nil.
	Compute Compute
	// Router moves the member's traffic; Config.Router if nil.
	Router Router
	// Hooks are the member's own lifecycle hooks; Config.Hooks if nil
	// (an empty, non-nil slice for none).
	Hooks []LifecycleHook
	// Monitors watch the member; Config.Monitors if nil.
	Monitors []Monitor
	// Order orders scale-up and clean-up among members: members of a lower
	// Order are scaled up (and healthy) before a higher Order scales up,
	// and are cleaned up (and, in a rollback, removed) after it. Members of
	// one Order act together. Traffic always moves for every member at once.
	Order int
	// ForwardOnlyAfter, if set, marks the member irreversible once it has
	// finished that stage (a database migration run at POST_SCALE_UP, say):
	// a rollback wanted after that point is refused, and the group is
	// driven forward instead, its hooks and monitors no longer consulted
	// (see ForwardOnlyError).
	ForwardOnlyAfter Stage
}

// GroupResult is how a release group ended.
type GroupResult struct {
	// DeploymentID identifies the group's deployment.
	DeploymentID string `json:"deploymentId"`
	// Group is the group's name.
	Group string `json:"group"`
	// Outcome is how the group ended; every member ended the same way
	// unless it is OutcomeFailed.
	Outcome Outcome `json:"outcome"`
	// Members are the members' results, in Group.Members order. A member
	// that had not started has an empty Outcome.
	Members []Result `json:"members"`
	// Rollback says why the group was rolled back (or wanted to be); By
	// names the cause within RollbackMember.
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// RollbackMember names the member whose failure rolled the group back;
	// empty for a group hook or the caller.
	RollbackMember string `json:"rollbackMember,omitempty"`
	// ForcedForward is set when a rollback was wanted after a forward-only
	// member's point of no return, and the group went forward instead.
	ForcedForward *ForwardOnlyError `json:"forcedForward,omitempty"`
	// Started and Finished bound the group's deployment.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// ForwardOnlyError is the error of a release group driven forward because a
// rollback was wanted after a forward-only member (Member.ForwardOnlyAfter)
// had passed its point of no return. Every member was completed; Wanted is
// the rollback that was refused.
type ForwardOnlyError struct {
	// Member is the forward-only member that forced the group forward.
	Member string `json:"member"`
	// After is the member's ForwardOnlyAfter stage.
	After Stage `json:"after"`
	// Wanted is why a rollback was wanted.
	Wanted RollbackInfo `json:"wanted"`
	// WantedBy names the member whose failure wanted it; empty for a group
	// hook or the caller.
	WantedBy string `json:"wantedBy,omitempty"`
}

// Error says which member forced the group forward, and why a rollback was wanted.
func (e *ForwardOnlyError) Error() string {
	by := e.Wanted.By
	if e.WantedBy != "" {
		by = e.WantedBy + ": " + by
	}
	return fmt.Sprintf("bluegreen: release group completed forward: member %s is forward only after %s, so the rollback wanted at %s (%s %s: %s) was refused",
		e.Member, e.After, e.Wanted.Stage, e.Wanted.Trigger, by, e.Wanted.Reason)
}

// ErrorCode classifies the error as CodeFailedPrecondition.
func (e *ForwardOnlyError) ErrorCode() Code { return CodeFailedPrecondition }

// GroupResult returns the result of a release group started with
// Deployer.StartGroup or StartReconcileGroup, once it has ended; false
// before then, or for a single service's deployment.
func (d *Deployment) GroupResult() (GroupResult, bool) {
	select {
	case <-d.done:
	default:
		return GroupResult{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.groupResult == nil {
		return GroupResult{}, false
	}
	gr := *d.groupResult
	gr.Members = slices.Clone(gr.Members)
	return gr, true
}

// groupRef is what a release group's records say about it.
type groupRef struct {
	Name string `json:"name"`
	// Members are listed on the group's own record.
	Members []groupMemberRef `json:"members,omitempty"`
}

type groupMemberRef struct {
	Service          string `json:"service"`
	DeploymentID     string `json:"deploymentId"`
	Order            int    `json:"order,omitempty"`
	ForwardOnlyAfter Stage  `json:"forwardOnlyAfter,omitempty"`
}

// appendGroup appends the group field of a state document. Groups are
// saved rarely enough for encoding/json.
func appendGroup(b []byte, g *groupRef) []byte {
	enc, err := json.Marshal(g)
	if err != nil {
		return b
	}
	b = append(b, `,"group":`...)
	return append(b, enc...)
}

// inUnfinishedGroup refuses a single-service Start or Reconcile of a member
// of a release group left unfinished: the group is settled as a whole.
func (r *run) inUnfinishedGroup(op string) error {
	old := r.ss.Deployment
	if old == nil || old.Group == nil {
		return nil
	}
	if old.Phase.finished() {
		// The member finished its part; the group may not have.
		var rec driver.Record
		if err := r.call(r.d.cfg.Store, "Store.Load", func(ctx context.Context) (err error) {
			rec, err = r.d.cfg.Store.Load(ctx, GroupKey(old.Group.Name))
			return err
		}); err != nil {
			return unwrapAbort(err)
		}
		gs, err := decodeState(rec)
		if err != nil || !gs.unfinished() {
			return err
		}
		return &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: op,
			Err: fmt.Errorf("release group %q, which deployed this service in %s, is unfinished at %s; settle the group with Deployer.ReconcileGroup first", old.Group.Name, old.ID, gs.Deployment.Stage)}
	}
	return &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: op,
		Err: fmt.Errorf("deployment %s is a member of release group %q, left unfinished at %s; settle the group with Deployer.ReconcileGroup first", old.ID, old.Group.Name, old.Stage)}
}

// DeployGroup deploys g and blocks until it ends, like Deploy: nil after a
// success, errors.Is(err, ErrRolledBack) after every member was rolled
// back, a *ForwardOnlyError after a group driven forward by a forward-only
// member, another error when it failed.
func (d *Deployer) DeployGroup(ctx context.Context, g Group) (GroupResult, error) {
	dep, err := d.StartGroup(ctx, g)
	if err != nil {
		return GroupResult{}, err
	}
	<-dep.Done()
	_, err = dep.Wait(context.Background())
	res, _ := dep.GroupResult()
	return res, err
}

// StartGroup validates g, takes the lease of the group's record and of
// every member, and deploys the members as one transaction in the
// background, returning the group's handle:
//
//   - RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP and POST_SCALE_UP run for
//     every member (SCALE_UP by Member.Order), so every green is up and
//     healthy before TEST_TRAFFIC_SHIFT moves any test traffic;
//   - at each stage, every member's action runs, then every member's own
//     hooks, then the group's Hooks;
//   - production traffic moves in lockstep: each step is applied to every
//     member, and verified by every member's router, before the step's
//     hooks and wait, and the next step begins only when every member has
//     finished this one;
//   - bake time runs for all members together, then clean-up (by Order,
//     highest first);
//   - any failure, alarm, hook failure or Rollback in any member rolls every
//     member back: first every member's traffic (one router call each, all
//     at once, all done before any green is removed), then the greens.
//
// The handle's events carry the member in Event.Member (empty for the
// group's own events); Rollback, Continue and Promote reach every member;
// Wait returns the group's Result (Service is GroupKey(g.Name)) and
// Deployment.GroupResult each member's. While the group runs, each member's
// lease is held: a single-service Start of a member is refused. A group
// left unfinished by a crash is settled with ReconcileGroup; a member of it
// cannot be deployed or reconciled alone until then.
//
// ctx governs the group as it governs Start. Config.Engine is not supported
// for groups.
func (d *Deployer) StartGroup(ctx context.Context, g Group) (*Deployment, error) {
	plan, err := d.planGroup(g, true)
	if err != nil {
		return nil, err
	}
	gr, err := d.beginGroup(ctx, plan, "StartGroup")
	if err != nil {
		return nil, err
	}
	for _, m := range gr.members {
		if err := m.r.inUnfinishedGroup("StartGroup"); err != nil {
			return nil, gr.abandon(err)
		}
		if old := m.r.ss.Deployment; old != nil && !old.Phase.finished() {
			return nil, gr.abandon(&Error{Code: CodeFailedPrecondition, Service: m.m.Service, Stage: StageReconcileService, Op: "StartGroup",
				Err: fmt.Errorf("deployment %s of member %s was left unfinished at %s; settle it with Deployer.Reconcile first", old.ID, m.m.Service, old.Stage)})
		}
	}
	if old := gr.g.ss.Deployment; old != nil && !old.Phase.finished() {
		return nil, gr.abandon(&Error{Code: CodeFailedPrecondition, Service: gr.key, Stage: StageReconcileService, Op: "StartGroup",
			Err: fmt.Errorf("the group's deployment %s was left unfinished at %s; settle it with Deployer.ReconcileGroup first", old.ID, old.Stage)})
	}
	go func() { gr.dep.finish(gr.main()) }()
	return gr.dep, nil
}

// ReconcileGroup settles a release group left unfinished by an owner that
// died or detached, and blocks until it is settled. See StartReconcileGroup.
func (d *Deployer) ReconcileGroup(ctx context.Context, g Group) (GroupResult, error) {
	dep, err := d.StartReconcileGroup(ctx, g)
	if err != nil {
		return GroupResult{}, err
	}
	<-dep.Done()
	_, err = dep.Wait(context.Background())
	res, _ := dep.GroupResult()
	return res, err
}

// StartReconcileGroup takes the leases of the group named g.Name and of its
// members and settles its unfinished deployment as a whole, in the
// background. g supplies the members' backends, hooks and monitors (their
// revisions are read from the store; Member.Revision is ignored); it must
// name every member the stored group has.
//
// The group is resumed from the position it stood at, unless
// Config.Reconcile is ReconcileRollback, the group or any member was
// rolling back (or had rolled back), a member had not recorded its
// deployment yet, or a member's green (or blue) is not healthy: then every
// member is rolled back, traffic first — unless a forward-only member has
// passed its point of no return, which drives the group forward. A member
// that had already finished clean-up is left as it is.
//
// A group with nothing unfinished gets an error with CodeNotFound.
func (d *Deployer) StartReconcileGroup(ctx context.Context, g Group) (*Deployment, error) {
	plan, err := d.planGroup(g, false)
	if err != nil {
		return nil, err
	}
	// The group's record says who its members are.
	rec, err := ReadState(ctx, d.cfg.Store, GroupKey(g.Name))
	if err != nil {
		return nil, err
	}
	if rec.Deployment == nil || rec.Deployment.Finished {
		why := "the group has never been deployed"
		if rec.Deployment != nil {
			why = fmt.Sprintf("nothing to settle: its last deployment, %s, finished", rec.Deployment.ID)
		}
		return nil, &Error{Code: CodeNotFound, Service: GroupKey(g.Name), Op: "ReconcileGroup", Err: errors.New(why)}
	}
	gr, err := d.beginGroup(ctx, plan, "ReconcileGroup")
	if err != nil {
		return nil, err
	}
	old := gr.g.ss.Deployment
	if old == nil || old.Phase.finished() || old.Group == nil {
		return nil, gr.abandon(&Error{Code: CodeNotFound, Service: gr.key, Op: "ReconcileGroup", Err: errors.New("nothing to settle: the group's deployment finished meanwhile")})
	}
	byService := map[string]*member{}
	for _, m := range gr.members {
		byService[m.m.Service] = m
	}
	var stored []string
	for _, ref := range old.Group.Members {
		stored = append(stored, ref.Service)
		m := byService[ref.Service]
		if m == nil {
			return nil, gr.abandon(&ConfigError{Field: "Group.Members", Problem: fmt.Sprintf("member %s of the stored group is missing", ref.Service),
				Fix: "list every member the group was deployed with: " + strings.Join(memberNames(old.Group), ", ")})
		}
		m.id, m.m.Order, m.m.ForwardOnlyAfter = ref.DeploymentID, ref.Order, ref.ForwardOnlyAfter
		if st := m.r.ss.Deployment; st != nil && st.ID == ref.DeploymentID {
			m.r.st = st
			m.r.rev = st.Green.Revision
		}
	}
	if len(stored) != len(gr.members) {
		return nil, gr.abandon(&ConfigError{Field: "Group.Members", Problem: fmt.Sprintf("%d members given, the stored group has %d", len(gr.members), len(stored)),
			Fix: "list exactly the members the group was deployed with: " + strings.Join(stored, ", ")})
	}
	gr.g.st = old
	gr.dep.id = old.ID
	gr.levels = levels(gr.members)
	go func() { gr.dep.finish(gr.reconcileMain()) }()
	return gr.dep, nil
}

func memberNames(g *groupRef) []string {
	out := make([]string, len(g.Members))
	for i, m := range g.Members {
		out[i] = m.Service
	}
	return out
}

// groupPlan is a validated group, with each member's derived Deployer.
type groupPlan struct {
	g       Group
	steps   []Step
	gd      *Deployer   // the group's record: group hooks, no backends but the store
	members []*Deployer // each member's backends, hooks and monitors, with the group's shift and bake
}

// planGroup validates g (before anything is changed) and derives the
// Deployers its runs use. withRevisions requires each member's revision.
func (d *Deployer) planGroup(g Group, withRevisions bool) (*groupPlan, error) {
	if d.cfg.Engine != nil {
		return nil, &ConfigError{Field: "Config.Engine", Problem: "set", Fix: "deploy release groups with a Deployer over Compute and Router; engines deploy single services"}
	}
	if err := validateService(g.Name); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.Field = "Group.Name"
		}
		return nil, err
	}
	if len(g.Members) == 0 {
		return nil, &ConfigError{Field: "Group.Members", Problem: "empty", Fix: "list the services to deploy together"}
	}
	steps, err := g.Shift.Resolve("Group.Shift")
	if err != nil {
		return nil, err
	}
	if g.BakeTime < 0 {
		return nil, &ConfigError{Field: "Group.BakeTime", Problem: fmt.Sprintf("negative (%v)", g.BakeTime), Fix: "use a positive duration, or 0 for no bake time"}
	}
	derive := func(field string, mod func(*Config)) (*Deployer, error) {
		cfg := d.cfg
		cfg.Shift, cfg.BakeTime = g.Shift, g.BakeTime
		mod(&cfg)
		if _, err := cfg.validate(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.Field = field + strings.TrimPrefix(ce.Field, "Config.")
			}
			return nil, err
		}
		md := &Deployer{cfg: cfg, steps: steps, log: d.log, hb: d.hb}
		for _, h := range cfg.Hooks {
			for _, s := range h.Stages {
				md.hooks[s] = append(md.hooks[s], h)
			}
		}
		return md, nil
	}
	p := &groupPlan{g: g, steps: steps}
	if p.gd, err = derive("Group.", func(c *Config) { c.Hooks, c.Monitors = g.Hooks, nil }); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, m := range g.Members {
		f := fmt.Sprintf("Group.Members[%d].", i)
		if err := validateService(m.Service); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.Field = f + "Service"
			}
			return nil, err
		}
		if seen[m.Service] {
			return nil, &ConfigError{Field: f + "Service", Problem: fmt.Sprintf("%q listed twice", m.Service), Fix: "list each service once"}
		}
		seen[m.Service] = true
		if withRevisions {
			if err := m.Revision.Validate(f + "Revision"); err != nil {
				return nil, err
			}
		}
		if m.ForwardOnlyAfter != 0 && (!m.ForwardOnlyAfter.Valid() || m.ForwardOnlyAfter >= StageCleanUp) {
			return nil, &ConfigError{Field: f + "ForwardOnlyAfter", Problem: fmt.Sprintf("%v is not a stage a rollback can follow", m.ForwardOnlyAfter),
				Fix: "use a stage from RECONCILE_SERVICE to BAKE_TIME, or 0 for a member that can always be rolled back"}
		}
		md, err := derive(f, func(c *Config) {
			if m.Compute != nil {
				c.Compute = m.Compute
			}
			if m.Router != nil {
				c.Router = m.Router
			}
			if m.Hooks != nil {
				c.Hooks = m.Hooks
			}
			if m.Monitors != nil {
				c.Monitors = m.Monitors
			}
		})
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, md)
	}
	return p, nil
}

// groupRun drives a release group. Only its goroutine (the coordinator)
// touches it; members' runs are driven by goroutines it starts and waits
// for at every barrier.
type groupRun struct {
	d       *Deployer
	key     string
	plan    *groupPlan
	dep     *Deployment // the group's handle
	g       *run        // the group's record and hooks
	members []*member
	levels  [][]*member // members by Order, ascending
	names   []string    // claimed in d.active

	rollbackReq *RollbackInfo // the caller's Rollback, taken at the next barrier
	cleaning    bool
	forced      *ForwardOnlyError
	cause       string // the member whose failure rolled the group back
	started     time.Time
}

// member is one service of a running group.
type member struct {
	m    Member
	id   string // its deployment's id
	r    *run
	dep  *Deployment // its own command channel; its events go to the group's handle
	done bool        // finished before the group (a resumed group's member that had cleaned up)
	// passed is the last stage the member finished in this run.
	passed Stage
	// entered says the member entered the current position (it was not skipped).
	entered bool
}

// beginGroup claims the group's and members' names in this process, and
// takes their leases in the store: the group's first, then the members'
// in name order, so two groups sharing members cannot deadlock.
func (d *Deployer) beginGroup(ctx context.Context, p *groupPlan, op string) (*groupRun, error) {
	key := GroupKey(p.g.Name)
	if err := ctx.Err(); err != nil {
		return nil, &Error{Code: CodeCanceled, Service: key, Op: op, Err: err}
	}
	id := d.cfg.NewID()
	dep := &Deployment{id: id, service: key, cmds: make(chan command), done: make(chan struct{})}
	names := []string{key}
	for _, m := range p.g.Members {
		names = append(names, m.Service)
	}
	d.mu.Lock()
	for _, n := range names {
		if cur, ok := d.active[n]; ok {
			d.mu.Unlock()
			return nil, &InProgressError{Service: n, DeploymentID: cur.id, Holder: d.cfg.Owner + " (this process)"}
		}
	}
	for _, n := range names {
		d.active[n] = dep
	}
	d.mu.Unlock()
	gr := &groupRun{d: d, key: key, plan: p, dep: dep, names: names}
	dep.onFinish = gr.releaseNames
	gr.g = &run{d: p.gd, dep: dep, ctx: ctx, service: key, clock: d.cfg.Clock}
	for i, m := range p.g.Members {
		mid := d.cfg.NewID()
		mdep := &Deployment{id: mid, service: m.Service, cmds: make(chan command), done: make(chan struct{}), parent: dep}
		ref := &groupRef{Name: p.g.Name}
		gr.members = append(gr.members, &member{m: m, id: mid, dep: mdep,
			r: &run{d: p.members[i], dep: mdep, ctx: ctx, service: m.Service, clock: d.cfg.Clock, rev: m.Revision, member: m.Service, group: ref}})
	}
	gr.levels = levels(gr.members)
	if err := gr.g.acquire(); err != nil {
		gr.releaseNames()
		return nil, err
	}
	sorted := slices.Clone(gr.members)
	slices.SortFunc(sorted, func(a, b *member) int { return strings.Compare(a.m.Service, b.m.Service) })
	for _, m := range sorted {
		if err := m.r.acquire(); err != nil {
			return nil, gr.abandon(err)
		}
	}
	d.metrics.started.Add(1)
	return gr, nil
}

// levels groups members by Order, ascending.
func levels(ms []*member) [][]*member {
	sorted := slices.Clone(ms)
	slices.SortStableFunc(sorted, func(a, b *member) int { return cmp.Compare(a.m.Order, b.m.Order) })
	var out [][]*member
	for i, m := range sorted {
		if i == 0 || m.m.Order != sorted[i-1].m.Order {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], m)
	}
	return out
}

func (gr *groupRun) releaseNames() {
	for _, r := range gr.runs() {
		r.endLease()
	}
	gr.d.release(gr.g.ctx, gr.dep, gr.names...)
	for _, m := range gr.members {
		select {
		case <-m.dep.done:
		default:
			close(m.dep.done) // forwarded commands stop waiting for it
		}
	}
}

// abandon gives back every lease taken for a request refused before
// anything started, and returns err.
func (gr *groupRun) abandon(err error) error {
	for _, r := range gr.runs() {
		if r.rec.Lease.Owner != "" && r.rec.Version > 0 {
			r.releaseLease()
			if perr := r.persist(); perr != nil {
				err = errors.Join(err, unwrapAbort(perr))
			}
		}
	}
	gr.releaseNames()
	return err
}

func (gr *groupRun) runs() []*run {
	out := []*run{gr.g}
	for _, m := range gr.members {
		out = append(out, m.r)
	}
	return out
}

// main runs a new group to its end.
func (gr *groupRun) main() (Result, error) {
	gr.started = gr.d.cfg.Clock.Now()
	g := gr.g
	g.started = gr.started
	ref := &groupRef{Name: gr.plan.g.Name}
	for _, m := range gr.members {
		ref.Members = append(ref.Members, groupMemberRef{Service: m.m.Service, DeploymentID: m.id, Order: m.m.Order, ForwardOnlyAfter: m.m.ForwardOnlyAfter})
		m.r.started = gr.started
	}
	g.st = &deployState{ID: gr.dep.id, Phase: phaseRunning, Stage: StageReconcileService,
		Green: Environment{Service: gr.key, Slot: SlotA, Revision: Revision{Name: gr.plan.g.Name}, DeploymentID: gr.dep.id},
		Steps: gr.plan.steps, BakeTime: gr.plan.g.BakeTime, Started: gr.started, Group: ref}
	g.ss.Deployment = g.st
	g.stage = StageReconcileService
	g.emit(Event{Kind: EventStageStarted})
	// The group's record lists its members before any member acts.
	err := g.persist()
	if err == nil {
		err = gr.each(gr.members, func(m *member) error { return m.r.reconcileStage() })
	}
	if err == nil {
		err = g.runHooks(StageReconcileService, 0, false)
	}
	if err == nil {
		g.emit(Event{Kind: EventStageFinished})
		err = gr.drive(0)
	}
	return gr.conclude(err)
}

// schedule is the group's schedule: the group's steps, and BAKE_TIME
// skipped only if no member has a blue.
func (gr *groupRun) schedule() []position {
	first := true
	for _, m := range gr.members {
		if m.r.st == nil || m.r.st.Blue != nil {
			first = false
		}
	}
	return schedule(gr.g.st.Steps, first)
}

// drive runs the group's positions from index from to the end, then
// records the group as finished.
func (gr *groupRun) drive(from int) error {
	ps := gr.schedule()
	for i, p := range ps[from:] {
		if err := gr.position(p, i == 0 && from > 0); err != nil {
			return err
		}
	}
	if err := gr.releaseIdle(); err != nil {
		return err
	}
	g := gr.g
	g.st.Phase = phaseSucceeded
	g.releaseLease()
	return g.persist()
}

// releaseIdle gives back the leases of members that did nothing in this
// run: one that had not recorded its deployment, or, in a resumed group,
// had finished before.
func (gr *groupRun) releaseIdle() error {
	for _, m := range gr.members {
		if m.r.rec.Lease.Owner != "" && (m.r.st == nil || m.r.st.Phase.finished()) {
			m.r.releaseLease()
			if err := m.r.persist(); err != nil {
				return err
			}
		}
	}
	return nil
}

// memberPosition returns the member's own position matching the group's p:
// a member without a blue has one production step (to 100%) and no bake.
func (m *member) position(p position) (position, bool) {
	if m.done || m.r.st == nil {
		return position{}, false
	}
	for _, q := range schedule(m.r.st.Steps, m.r.st.Blue == nil) {
		if q.Stage == p.Stage && q.Step == p.Step {
			return q, true
		}
	}
	return position{}, false
}

// position runs one position of the group: every member enters it, then
// every member acts (by Order where it matters), then every member's
// hooks, then the group's hooks, then every member's after (a step's wait,
// monitors watched), each a barrier.
func (gr *groupRun) position(p position, resumed bool) error {
	g := gr.g
	if err := gr.pollGroup(); err != nil {
		return err
	}
	if p.Skip == "" {
		g.stage, g.step = p.Stage, p.Step
		if g.st.Stage != p.Stage || g.st.Step != p.Step {
			g.st.Hooks = nil
		}
		g.st.Stage, g.st.Step = p.Stage, p.Step
		if err := g.persist(); err != nil { // the group's resume point
			return err
		}
	}
	active := map[*member]position{}
	var in []*member
	for _, m := range gr.members {
		if q, ok := m.position(p); ok {
			active[m] = q
			in = append(in, m)
		}
	}
	if p.Skip != "" {
		g.stage, g.step = p.Stage, 0
		g.emit(Event{Kind: EventStageSkipped, Reason: p.Skip})
		return gr.each(in, func(m *member) error { _, err := m.r.enterPosition(active[m]); return err })
	}
	if p.Stage == StageCleanUp {
		gr.cleaning = true
	}
	g.emit(Event{Kind: EventStageStarted})
	if err := gr.each(in, func(m *member) error {
		m.r.resumed = resumed
		var err error
		m.entered, err = m.r.enterPosition(active[m])
		return err
	}); err != nil {
		return err
	}
	var entered []*member
	for _, m := range in {
		if m.entered { // written by its goroutine before the barrier
			entered = append(entered, m)
		}
	}
	def := &lifecycle[p.Stage]
	if def.act != nil {
		act := func(m *member) error { return def.act(m.r, active[m]) }
		switch {
		case p.Stage == StageScaleUp && len(gr.levels) > 1:
			// A lower Order is up and healthy before a higher one scales up.
			for _, lv := range gr.levels {
				if err := gr.each(only(lv, entered), func(m *member) error {
					if err := act(m); err != nil {
						return err
					}
					return m.r.waitGreenHealthy(active[m])
				}); err != nil {
					return err
				}
			}
		case p.Stage == StageCleanUp:
			for _, lv := range slices.Backward(gr.levels) {
				if err := gr.each(only(lv, entered), act); err != nil {
					return err
				}
			}
		default:
			if err := gr.each(entered, act); err != nil {
				return err
			}
		}
	}
	if err := gr.each(entered, func(m *member) error { return m.r.runHooks(p.Stage, active[m].Step, false) }); err != nil {
		return err
	}
	if err := g.runHooks(p.Stage, p.Step, false); err != nil {
		return err
	}
	if def.after != nil {
		if err := gr.each(entered, func(m *member) error { return def.after(m.r, active[m]) }); err != nil {
			return err
		}
	}
	for _, m := range entered {
		m.r.emit(Event{Kind: EventStageFinished})
		m.passed = p.Stage
		if p.Stage == StageCleanUp {
			m.done = true
		}
	}
	g.emit(Event{Kind: EventStageFinished})
	return nil
}

func only(level, entered []*member) []*member {
	var out []*member
	for _, m := range level {
		if slices.Contains(entered, m) {
			out = append(out, m)
		}
	}
	return out
}

// memberErr is a member's error, naming the member.
type memberErr struct {
	m   *member
	err error
}

func (e *memberErr) Error() string { return e.m.m.Service + ": " + e.err.Error() }
func (e *memberErr) Unwrap() error { return e.err }

// each runs fn for every member of ms at once and waits for all of them
// (a barrier), handling the caller's commands meanwhile. When a member
// wants a rollback, the others still running are asked to stop (a
// Rollback command ends their waits). It returns the first abort if any,
// else the first rollback signal, else the first error.
func (gr *groupRun) each(ms []*member, fn func(*member) error) error {
	if len(ms) == 0 {
		return nil
	}
	type result struct {
		m   *member
		err error
	}
	out := make(chan result, len(ms))
	posCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := map[*member]bool{}
	for _, m := range ms {
		running[m] = true
		go func() { out <- result{m, fn(m)} }()
	}
	var first error
	stopped := false
	for n := len(ms); n > 0; {
		select {
		case x := <-out:
			n--
			delete(running, x.m)
			if x.err == nil {
				continue
			}
			if first == nil || (isAbort(x.err) && !isAbort(first)) {
				first = &memberErr{x.m, x.err}
			}
			var sig *rollbackSignal
			if !stopped && errors.As(x.err, &sig) {
				stopped = true
				gr.forward(posCtx, running, command{kind: cmdRollback,
					reason: fmt.Sprintf("release group member %s is rolling back: %s", x.m.m.Service, sig.info.Reason)}, nil)
			}
		case c := <-gr.dep.cmds:
			gr.command(posCtx, c, running)
		case <-gr.g.clock.After(gr.g.housekeepingAt(gr.g.clock.Now().Add(time.Hour)).Sub(gr.g.clock.Now())):
			// The group's record keeps its lease while members work.
			if err := gr.g.housekeeping(); err != nil && first == nil {
				first = err
			}
		}
	}
	if first == nil && gr.rollbackReq != nil && !gr.g.rollingBack {
		return &rollbackSignal{*gr.rollbackReq}
	}
	return first
}

// forward sends c to every running member at once. If reply is set, it
// gets nil once any member accepted c, else the first refusal.
func (gr *groupRun) forward(ctx context.Context, running map[*member]bool, c command, reply chan error) {
	ms := make([]*member, 0, len(running))
	for m := range running {
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		if reply != nil {
			reply <- &Error{Code: CodeFailedPrecondition, Service: gr.key, Stage: gr.g.stage, Op: c.kind.String(), Err: errors.New("no member is waiting")}
		}
		return
	}
	answers := make(chan error, len(ms))
	for _, m := range ms {
		go func() { answers <- m.dep.send(ctx, command{kind: c.kind, reason: c.reason}) }()
	}
	if reply == nil {
		return
	}
	go func() {
		var firstErr error
		for range ms {
			err := <-answers
			if err == nil {
				reply <- nil
				return
			}
			if firstErr == nil || errors.Is(firstErr, context.Canceled) {
				firstErr = err
			}
		}
		if errors.Is(firstErr, context.Canceled) {
			firstErr = &Error{Code: CodeFailedPrecondition, Service: gr.key, Stage: gr.g.stage, Op: c.kind.String(), Err: errors.New("no member was waiting")}
		}
		reply <- firstErr
	}()
}

// command answers a caller command that arrived while members run.
func (gr *groupRun) command(ctx context.Context, c command, running map[*member]bool) {
	refuse := func(why string) {
		c.reply <- &Error{Code: CodeFailedPrecondition, Service: gr.key, Stage: gr.g.stage, Op: c.kind.String(), Err: errors.New(why)}
	}
	switch c.kind {
	case cmdRollback:
		switch {
		case gr.g.rollingBack || gr.rollbackReq != nil:
			refuse("already rolling back")
			return
		case gr.cleaning:
			refuse("too late: blue is being removed in CLEAN_UP")
			return
		case gr.forced != nil:
			refuse(gr.forced.Error())
			return
		}
		if m := gr.forwardOnly(); m != nil {
			refuse(fmt.Sprintf("member %s is forward only after %s, which it has passed", m.m.Service, m.m.ForwardOnlyAfter))
			return
		}
		reason := c.reason
		if reason == "" {
			reason = "requested by the caller"
		}
		gr.rollbackReq = &RollbackInfo{Trigger: TriggerCaller, By: "caller", Reason: reason, Stage: gr.g.stage, Step: gr.g.step, At: gr.g.clock.Now()}
		c.reply <- nil
		gr.forward(ctx, running, command{kind: cmdRollback, reason: reason}, nil)
	case cmdContinue, cmdPromote:
		gr.forward(ctx, running, c, c.reply)
	case cmdHandover:
		refuse("a release group is not handed over; it is driven to its end (settle an abandoned one with Deployer.ReconcileGroup)")
	default:
		refuse("unknown command")
	}
}

// pollGroup takes a waiting command between positions.
func (gr *groupRun) pollGroup() error {
	for {
		select {
		case c := <-gr.dep.cmds:
			gr.command(context.Background(), c, nil)
			continue
		default:
		}
		if gr.rollbackReq != nil && !gr.g.rollingBack {
			return &rollbackSignal{*gr.rollbackReq}
		}
		return nil
	}
}

// forwardOnly returns a forward-only member that has passed its point of
// no return, if any.
func (gr *groupRun) forwardOnly() *member {
	for _, m := range gr.members {
		f := m.m.ForwardOnlyAfter
		if f == 0 || m.r.st == nil {
			continue
		}
		if m.passed >= f || m.r.st.Stage > f || m.done {
			return m
		}
	}
	return nil
}

// conclude turns how the group's lifecycle ended into its result.
func (gr *groupRun) conclude(err error) (Result, error) {
	var sig *rollbackSignal
	switch {
	case err == nil:
		return gr.finish(OutcomeSucceeded, nil)
	case errors.As(err, &sig):
		var me *memberErr
		if errors.As(err, &me) {
			gr.cause = me.m.m.Service
		}
		if m := gr.forwardOnly(); m != nil && gr.forced == nil {
			return gr.forceForward(m, sig.info)
		}
		if gr.forced != nil {
			return gr.finish(OutcomeFailed, fmt.Errorf("%w; going forward, it failed too: %w", gr.forced, &RollbackError{Service: gr.cause, Info: sig.info}))
		}
		return gr.rollback(sig.info)
	case gr.g.stage == StageReconcileService && ErrorCode(unwrapAbort(err)) == CodeFailedPrecondition && gr.g.st != nil:
		// A member refused to start (what serves could not be told
		// apart): the members that recorded a deployment are rolled back.
		if rerr := gr.undoAll(RollbackInfo{Trigger: TriggerBackend, By: "RECONCILE_SERVICE", Reason: unwrapAbort(err).Error(), Stage: StageReconcileService, At: gr.g.clock.Now()}); rerr != nil {
			return gr.finish(OutcomeFailed, errors.Join(unwrapAbort(err), unwrapAbort(rerr)))
		}
		return gr.finish(OutcomeFailed, unwrapAbort(err))
	default:
		return gr.finish(OutcomeFailed, unwrapAbort(err))
	}
}

// forceForward drives the group to its end after a rollback was wanted
// past m's point of no return: hooks and monitors are no longer asked.
func (gr *groupRun) forceForward(m *member, wanted RollbackInfo) (Result, error) {
	gr.forced = &ForwardOnlyError{Member: m.m.Service, After: m.m.ForwardOnlyAfter, Wanted: wanted, WantedBy: gr.cause}
	gr.rollbackReq = nil
	gr.d.log.WarnContext(context.WithoutCancel(gr.g.ctx), "release group going forward", "group", gr.plan.g.Name, "reason", gr.forced.Error())
	strip := func(r *run) {
		cfg := r.d.cfg
		cfg.Hooks, cfg.Monitors = nil, nil
		r.d = &Deployer{cfg: cfg, steps: r.d.steps, log: r.d.log, hb: r.d.hb}
		r.monitorErrs, r.inconclusive = nil, nil
	}
	strip(gr.g)
	for _, mm := range gr.members {
		strip(mm.r)
	}
	ps := gr.schedule()
	from := resumeAt(ps, gr.g.st.Stage, gr.g.st.Step)
	err := gr.drive(from)
	if err == nil {
		return gr.finish(OutcomeSucceeded, gr.forced)
	}
	return gr.conclude(err)
}

// rollback rolls every member back: first every member's traffic, at once,
// then, when all are back, every green, highest Order first.
func (gr *groupRun) rollback(info RollbackInfo) (Result, error) {
	if err := gr.undoAll(info); err != nil {
		return gr.finish(OutcomeFailed, unwrapAbort(err))
	}
	by := gr.key
	if gr.cause != "" {
		by = gr.cause
	}
	res, _ := gr.finish(OutcomeRolledBack, nil)
	return res, &RollbackError{Service: by, Info: info}
}

// undoAll is the group's rollback, without ending the group.
func (gr *groupRun) undoAll(info RollbackInfo) error {
	g := gr.g
	g.rollingBack = true
	g.st.Phase = phaseRollingBack
	g.st.Rollback = &info
	if err := g.persist(); err != nil {
		return err
	}
	inf := info
	g.emit(Event{Kind: EventRollbackStarted, Rollback: &inf, Reason: info.Reason})
	var live []*member
	for _, m := range gr.members {
		if m.r.st != nil && !m.r.st.Phase.finished() {
			live = append(live, m)
		}
	}
	if err := gr.each(live, func(m *member) error {
		r, st := m.r, m.r.st
		r.rollingBack = true
		if st.Phase != phaseRollingBack || st.Rollback == nil {
			mi := info
			if m.m.Service != gr.cause {
				mi.Reason = "release group rolled back: " + rollbackCause(gr.cause, info)
			}
			st.Rollback = &mi
		}
		st.Phase = phaseRollingBack
		if err := r.persist(); err != nil {
			return err
		}
		mi := *st.Rollback
		r.emit(Event{Kind: EventRollbackStarted, Rollback: &mi, Reason: mi.Reason})
		return r.undoTraffic(st)
	}); err != nil {
		return err
	}
	for _, lv := range slices.Backward(gr.levels) {
		if err := gr.each(only(lv, live), func(m *member) error {
			if err := m.r.undoGreen(m.r.st); err != nil {
				return err
			}
			mi := *m.r.st.Rollback
			m.r.emit(Event{Kind: EventRollbackFinished, Rollback: &mi})
			return nil
		}); err != nil {
			return err
		}
	}
	if err := gr.releaseIdle(); err != nil {
		return err
	}
	g.st.Phase = phaseRolledBack
	g.releaseLease()
	if err := g.persist(); err != nil {
		return err
	}
	inf2 := info
	g.emit(Event{Kind: EventRollbackFinished, Rollback: &inf2})
	return nil
}

func rollbackCause(member string, info RollbackInfo) string {
	s := string(info.Trigger)
	if info.By != "" {
		s += " " + info.By
	}
	if member != "" {
		s = "member " + member + ", " + s
	}
	return s + ": " + info.Reason
}

// finish ends the group: the result of each member and of the group, and
// the group's EventDone (members report none).
func (gr *groupRun) finish(o Outcome, err error) (Result, error) {
	g := gr.g
	now := g.clock.Now()
	for _, r := range gr.runs() {
		if r.lease != nil {
			r.lease.close()
		}
	}
	res := GroupResult{DeploymentID: gr.dep.id, Group: gr.plan.g.Name, Outcome: o, RollbackMember: gr.cause, ForcedForward: gr.forced,
		Started: gr.started, Finished: now}
	if g.st != nil {
		res.DeploymentID = g.st.ID
		res.Rollback = g.st.Rollback
	}
	for _, m := range gr.members {
		mr := Result{DeploymentID: m.id, Service: m.m.Service, Live: m.r.ss.Live, Started: gr.started, Finished: now, Stage: m.r.stage}
		if st := m.r.st; st != nil {
			mr.DeploymentID = st.ID
			mr.Blue, mr.Green, mr.Rollback, mr.Adopted = st.Blue, st.Green, st.Rollback, st.Adopted
			switch st.Phase {
			case phaseSucceeded:
				mr.Outcome = OutcomeSucceeded
			case phaseRolledBack:
				mr.Outcome = OutcomeRolledBack
			default:
				mr.Outcome = OutcomeFailed
			}
		}
		res.Members = append(res.Members, mr)
	}
	if gr.forced != nil && res.Rollback == nil {
		w := gr.forced.Wanted
		res.Rollback = &w
	}
	gr.d.metrics.ended(o, res.Rollback)
	gr.dep.mu.Lock()
	gr.dep.groupResult = &res
	gr.dep.mu.Unlock()
	ev := Event{Kind: EventDone, Outcome: o}
	if err != nil {
		ev.Reason = err.Error()
	}
	g.emit(ev)
	if o == OutcomeFailed && err != nil {
		gr.d.log.ErrorContext(context.WithoutCancel(g.ctx), "release group failed", "group", gr.plan.g.Name, "error", err.Error())
	}
	out := Result{DeploymentID: res.DeploymentID, Service: gr.key, Outcome: o, Stage: g.stage, Rollback: res.Rollback,
		Started: gr.started, Finished: now}
	if g.st != nil {
		out.Green = g.st.Green
	}
	return out, err
}

// reconcileMain settles a group left unfinished: forward from where the
// group stood, or every member back.
func (gr *groupRun) reconcileMain() (Result, error) {
	g := gr.g
	gr.started = g.clock.Now()
	g.started = gr.started
	g.stage, g.step = StageReconcileService, 0
	g.emit(Event{Kind: EventStageStarted})
	forward, why, err := gr.decide()
	if err != nil {
		return gr.finish(OutcomeFailed, err)
	}
	for _, m := range gr.members {
		m.r.started = gr.started
		if m.r.st != nil {
			m.r.stage, m.r.step = m.r.st.Stage, m.r.st.Step
			if m.r.st.Phase == phaseSucceeded {
				m.done = true
			}
		}
	}
	old := g.st
	if !forward {
		if m := gr.forwardOnly(); m != nil {
			forward, why = true, fmt.Sprintf("member %s is forward only after %s, which it has passed", m.m.Service, m.m.ForwardOnlyAfter)
		}
	}
	reason := map[bool]string{true: "resuming from " + old.Stage.String(), false: "rolling back"}[forward] + ": " + why
	g.emit(Event{Kind: EventStageFinished, Reason: reason})
	if !forward {
		info := RollbackInfo{Trigger: TriggerReconcile, By: old.ID, Stage: old.Stage, Step: old.Step, At: g.clock.Now(),
			Reason: fmt.Sprintf("release group deployment %s was left unfinished at %s by its owner (%s)", old.ID, old.Stage, why)}
		if old.Rollback != nil {
			info = *old.Rollback
		}
		return gr.rollback(info)
	}
	from := resumeAt(gr.schedule(), old.Stage, old.Step)
	if old.Stage == StageReconcileService {
		from = 0
	}
	return gr.conclude(gr.drive(from))
}

// decide says whether a group left unfinished goes forward, and why.
func (gr *groupRun) decide() (forward bool, why string, err error) {
	g := gr.g
	if g.st.Phase == phaseRollingBack {
		return false, "it was rolling back", nil
	}
	for _, m := range gr.members {
		st := m.r.st
		switch {
		case st == nil && g.st.Stage > StageReconcileService:
			// The member's record holds a later deployment: the member
			// was deployed on its own after finishing its part, and is
			// left alone.
			m.done = true
		case st == nil:
			return false, "member " + m.m.Service + " had not recorded its deployment", nil
		case st.Phase == phaseSucceeded:
			return true, "member " + m.m.Service + " had finished clean-up", nil
		}
	}
	for _, m := range gr.members {
		if m.r.st == nil {
			continue
		}
		if p := m.r.st.Phase; p == phaseRollingBack || p == phaseRolledBack {
			return false, "member " + m.m.Service + " was rolling back", nil
		}
	}
	if gr.d.cfg.Reconcile == ReconcileRollback {
		return false, "Config.Reconcile is ReconcileRollback", nil
	}
	for _, m := range gr.members {
		if m.r.st == nil {
			continue
		}
		fwd, err := m.r.decide(m.r.st, ReconcileResume)
		if err != nil {
			return false, "", unwrapAbort(err)
		}
		if !fwd {
			return false, "member " + m.m.Service + "'s green is not healthy", nil
		}
	}
	return true, "every member is healthy", nil
}
