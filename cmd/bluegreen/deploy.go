package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// Polling intervals: the backends are on this host and answer in
// milliseconds, so the Deployer may ask often.
const (
	healthInterval  = 250 * time.Millisecond
	verifyInterval  = 20 * time.Millisecond
	verifyTimeout   = 30 * time.Second
	monitorInterval = 500 * time.Millisecond
	// sampleInterval is how often deploy reads the daemon's request and
	// error counters for the timeline.
	sampleInterval = 250 * time.Millisecond
)

func deployCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseDeploy(args, stdout)
	if err != nil {
		return parseFailed("deploy", err, stderr)
	}
	return deploy(ctx, o, stdout, stderr)
}

// deploy runs one deployment to its end and returns the exit code.
func deploy(ctx context.Context, o deployOptions, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bluegreen deploy: %v\n", err)
		return exitCode(err)
	}
	var rule proxy.ErrorRate
	if o.errorRate > 0 {
		rule = proxy.ErrorRate{MaxRate: o.errorRate, Window: o.errorWindow, MinRequests: max(1, o.errorWindow/5)}
	}
	b, err := openBackends(ctx, o.commonOptions, rule, stderr)
	if err != nil {
		return fail(err)
	}
	defer b.close()
	rev, err := local.Spec{
		Command: o.command[0], Args: o.command[1:], Env: o.env, Dir: o.dir, Instances: o.instances,
		Readiness: local.Readiness{Path: o.healthPath}, StopTimeout: local.Duration(o.stopTimeout),
	}.Revision(o.revision)
	if err != nil {
		return fail(err)
	}

	p := &progress{out: stderr}
	owner := newOwner("deploy")
	id := randomHex(8)
	cfg := o.config(b, p, owner)
	elog := newEventLog(o.stateDir, o.service, p.line)
	defer elog.close()
	cfg.Callbacks.OnEvent = tee(p.event, elog.event)
	cfg.NewID = func() string { return id } // known before Start, for the header
	cfg.Shift, cfg.BakeTime, cfg.HealthTimeout, cfg.OnCancel = o.shift, o.bake, o.healthTimeout, o.onCancel
	if o.errorRate > 0 {
		cfg.Monitors = []bluegreen.Monitor{b.client}
	}
	d, err := bluegreen.New(cfg)
	if err != nil {
		return fail(err)
	}
	p.line("DEPLOY %s of %s: deployment %s, owner %q", o.revision, o.service, id, owner)
	started := time.Now()
	dep, err := d.Start(ctx, o.service, rev)
	if err != nil {
		if o.reconcile == bluegreen.ReconcileRefuse && errors.Is(err, bluegreen.ErrFailedPrecondition) {
			fmt.Fprintf(stderr, "bluegreen deploy: settle it with: bluegreen reconcile -service %s -state %s -proxy-admin %s\n", o.service, o.stateDir, o.proxyAdmin)
		}
		return fail(err)
	}
	sampling, stopSampling := context.WithCancel(context.Background())
	var sampler sync.WaitGroup
	sampler.Go(func() { sampleMetrics(sampling, b.client, o.service, elog, sampleInterval) })
	<-dep.Done()
	stopSampling()
	sampler.Wait()
	res, err := dep.Wait(context.Background())
	elog.close()
	p.line("EVENTS saved in %s; draw them with: bluegreen timeline -service %s -state %s -deployment %s -o %s.svg",
		filepath.Join(o.stateDir, eventsDir, o.service, fileName(id)+eventsSuffix), o.service, o.stateDir, id, id)
	b.sweepOrphans(o.service, p)
	r := newResult("deploy", res, err, time.Since(started))
	r.write(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bluegreen deploy: %v\n", err)
		if !errors.Is(err, bluegreen.ErrRolledBack) {
			fmt.Fprintf(stderr, "bluegreen deploy: the deployment's state is in -state %s; the next deploy, or bluegreen reconcile, settles it\n", o.stateDir)
		}
	}
	return r.ExitCode
}

// config is the Deployer configuration shared by deploy and reconcile.
func (o commonOptions) config(b *backends, p *progress, owner string) bluegreen.Config {
	cfg := bluegreen.Config{
		Compute: b.compute, Router: b.client, Store: b.store,
		LeaseTTL: o.leaseTTL, Owner: owner, Reconcile: o.reconcile,
		HealthInterval: healthInterval, VerifyInterval: verifyInterval, VerifyTimeout: verifyTimeout,
		MonitorInterval: monitorInterval,
		Callbacks:       bluegreen.Callbacks{OnEvent: p.event},
	}
	if o.verbose {
		cfg.Logger = b.log
	}
	return cfg
}

func reconcileCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseCommon("reconcile", args, true, stdout)
	if err != nil {
		return parseFailed("reconcile", err, stderr)
	}
	return reconcile(ctx, o, stdout, stderr)
}

// reconcile settles an unfinished deployment of the service, if any.
func reconcile(ctx context.Context, o commonOptions, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bluegreen reconcile: %v\n", err)
		return exitCode(err)
	}
	b, err := openBackends(ctx, o, proxy.ErrorRate{}, stderr)
	if err != nil {
		return fail(err)
	}
	defer b.close()
	p := &progress{out: stderr}
	owner := newOwner("reconcile")
	cfg := o.config(b, p, owner)
	elog := newEventLog(o.stateDir, o.service, p.line)
	defer elog.close()
	cfg.Callbacks.OnEvent = tee(p.event, elog.event)
	d, err := bluegreen.New(cfg)
	if err != nil {
		return fail(err)
	}
	p.line("RECONCILE %s: owner %q", o.service, owner)
	started := time.Now()
	res, err := d.Reconcile(ctx, o.service)
	if !errors.Is(err, bluegreen.ErrInProgress) {
		b.sweepOrphans(o.service, p)
	}
	switch {
	case errors.Is(err, bluegreen.ErrNotFound):
		fmt.Fprintf(stderr, "bluegreen reconcile: service %s has never been deployed: nothing to settle\n", o.service)
		newResult("reconcile", bluegreen.Result{Service: o.service}, nil, time.Since(started)).write(stdout)
		return exitOK
	case err != nil && res.DeploymentID == "":
		return fail(err) // it did not start: bad input, or a lease held by a live owner
	}
	// Settled either way is a success: the result says which way.
	if errors.Is(err, bluegreen.ErrRolledBack) {
		err = nil
	}
	r := newResult("reconcile", res, err, time.Since(started))
	r.write(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bluegreen reconcile: %v\n", err)
	}
	return r.ExitCode
}
