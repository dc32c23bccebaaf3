// Command bluegreen deploys a service on a single host: each revision runs as
// local processes (package local, detached), behind a long-running
// bluegreen-proxy daemon that it drives through the daemon's admin API
// (admin.Client), with the service's state in files (package
// local/filestore). Traffic survives the command: if it exits or is killed
// mid-deployment, the daemon keeps routing as it was told, the instances keep
// running, and the next deploy (or reconcile) settles the unfinished
// deployment in RECONCILE_SERVICE.
//
// # Quick start
//
// Start the proxy daemon once (it outlives deployments), then deploy:
//
//	bluegreen-proxy -listen :8080 -admin unix:/run/bg/admin.sock -state /var/lib/bg/proxy.json \
//	    -health-path /healthz -drain-delay 10s &
//
//	bluegreen deploy -service web -proxy-admin unix:/run/bg/admin.sock -state /var/lib/bg \
//	    -revision v2 -instances 2 -health-path /healthz -shift linear:25:2s -bake 3s -error-rate 0.05 \
//	    -- /srv/web/bin/web -log json
//
//	bluegreen status -service web -state /var/lib/bg
//	bluegreen reconcile -service web -proxy-admin unix:/run/bg/admin.sock -state /var/lib/bg
//
// Every instance listens on 127.0.0.1:$PORT and finds its revision's name in
// $BLUEGREEN_REVISION (see package local for the other variables).
//
// # Commands
//
// deploy starts the command after "--" as the new revision (green) in the
// service's free slot, waits until it is healthy, moves the test route and
// then production traffic to it per -shift, bakes, and removes the old
// revision (blue). Anything that goes wrong before blue's removal rolls back.
// An unfinished deployment left by a dead deploy command is settled first,
// once its lease (-lease-ttl) has expired.
//
// reconcile settles an unfinished deployment without starting a new one
// (bluegreen.Deployer.Reconcile): it completes it if all production traffic
// had moved to green, and rolls it back otherwise.
//
// status prints the service's record (live revision, lease, last or current
// deployment) and its instances, as JSON. It changes nothing.
//
// timeline draws a deployment as an SVG picture (package timeline): its
// stages, traffic weights, hooks, monitors, rollback, and the daemon's
// requests and errors per second. deploy and reconcile save each
// deployment's events as they happen, as JSON lines in
// -state/events/SERVICE/DEPLOYMENT.jsonl (deploy saves the daemon's request
// and error counters beside them, in DEPLOYMENT.samples.jsonl), so a
// deployment whose command was killed can be drawn too:
//
//	bluegreen timeline -service web -state /var/lib/bg -o web.svg    # the latest deployment
//	bluegreen timeline -service web -state /var/lib/bg -deployment 3f2a9c1b7d4e5a60 -o d.svg
//	bluegreen timeline -events saved.jsonl > d.svg
//
// # Flags
//
// Common to deploy and reconcile:
//
//	-service NAME          the service (required)
//	-state DIR             state directory (required): DIR/store holds the service's
//	                       record, DIR/instances the detached instances, DIR/logs their output
//	-proxy-admin ADDR      the daemon's admin API: unix:/path or 127.0.0.1:9090 (required)
//	-proxy-token-file F    file holding the admin token (default: $BLUEGREEN_PROXY_TOKEN)
//	-lease-ttl D           how long the lease outlives a dead command (default 1m)
//	-reconcile POLICY      an unfinished earlier deployment: default (reconcile resumes
//	                       it from its step; deploy completes it if all production
//	                       traffic had moved, else rolls it back), resume (deploy too
//	                       first finishes it), rollback, or refuse (deploy only: stop,
//	                       and leave it to reconcile)
//	-v                     log the deployer's and the backend's events to stderr
//
// deploy only:
//
//	-revision NAME         the revision's name, such as v2 or web:42 (required)
//	-instances N           instances of the revision, 1 to 64 (default 2)
//	-health-path P         readiness check path, such as /healthz (default: a TCP connect)
//	-health-timeout D      how long green may take to become healthy (default 2m)
//	-shift S               all | linear:PERCENT:WAIT | canary:PERCENT:WAIT (default all)
//	-bake D                bake time with both revisions running (default 0)
//	-error-rate R          roll back when green's 5xx share exceeds R, such as 0.05 (default 0: off)
//	-error-window N        requests the error rate is computed over (default 200; fires after N/5)
//	-env KEY=VALUE         an environment variable of the instances (repeatable)
//	-dir DIR               the instances' working directory (default: this one)
//	-stop-timeout D        SIGTERM to SIGKILL when an instance is stopped (default 10s)
//	-on-cancel POLICY      on SIGINT/SIGTERM: rollback (default) or detach (leave the
//	                       deployment for the next deploy or reconcile)
//
// status takes -service and -state, and optionally -proxy-admin and
// -proxy-token-file to report the daemon's routes too.
//
// timeline takes -events FILE, or -service and -state (and -deployment ID
// for another than the latest), -o OUT.svg (default: stdout) and -width.
//
// # When the command dies
//
// The instances run detached (local.Options.StateDir) and the daemon keeps
// the routes it was last given, so a deploy command that is killed leaves
// traffic flowing as it was, split or not. Its lease lapses -lease-ttl after
// its last renewal; until then another deploy exits 3 and names it. After
// that, the next deploy or reconcile settles the deployment in
// RECONCILE_SERVICE per -reconcile. The lease is renewed while an
// environment drains too, so -lease-ttl need not outlast -drain-delay.
//
// A command killed while instances start may leave one running that the
// instances directory does not record yet. Every deploy and reconcile ends
// by killing such orphans (processes whose output goes to -state's logs
// directory and whose deployment is neither live nor in flight; Linux only),
// with an "ORPHAN" line; status lists them.
//
// # Systems
//
// The command runs on Linux and macOS. On other systems it builds, but its
// detached instances are not supported (package local says why), and deploy,
// reconcile and status fail at once with exit code 4 and a message saying
// so; on Windows, run it under WSL 2.
//
// # Output and exit codes
//
// Progress goes to stderr, one line per event ("STAGE", "HEALTH", "TRAFFIC",
// "VERIFIED", "HOOK", "MONITOR", "ROLLBACK", "RECONCILED", "RETRY", "DONE").
// deploy and reconcile print a final one-line JSON result on stdout once a
// deployment ran; status prints its JSON on stdout. The exit code is
//
//	0  success (reconcile: the service is settled, whichever way)
//	1  the deployment was rolled back
//	2  bad usage or configuration (the message names the flag and the fix)
//	3  another deployment of the service is in progress (the message names its holder)
//	4  any other failure (the proxy daemon unreachable, a deployment left unfinished, ...)
//
// A first SIGINT or SIGTERM rolls the deployment back (or detaches, per
// -on-cancel); a second one ends the command at once, leaving the deployment
// for the next deploy or reconcile.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK         = 0
	exitRolledBack = 1
	exitUsage      = 2
	exitInProgress = 3
	exitFailed     = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once the first signal has been seen, the next one gets the default
	// behavior: it ends the command at once.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args (without the program name) and returns the
// exit code. Results go to stdout, progress and errors to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "deploy":
		return deployCommand(ctx, args[1:], stdout, stderr)
	case "reconcile":
		return reconcileCommand(ctx, args[1:], stdout, stderr)
	case "status":
		return statusCommand(ctx, args[1:], stdout, stderr)
	case "timeline":
		return timelineCommand(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "bluegreen: unknown command %q: use deploy, reconcile, status or timeline (see bluegreen help)\n", args[0])
	return exitUsage
}

const usage = `bluegreen deploys a service on this host behind a bluegreen-proxy daemon.

Usage:
  bluegreen deploy    -service NAME -state DIR -proxy-admin ADDR -revision NAME [flags] -- COMMAND [ARGS...]
  bluegreen reconcile -service NAME -state DIR -proxy-admin ADDR [flags]
  bluegreen status    -service NAME -state DIR [-proxy-admin ADDR]
  bluegreen timeline  (-events FILE | -service NAME -state DIR [-deployment ID]) [-o OUT.svg]

Run "bluegreen COMMAND -h" for a command's flags.
Exit codes: 0 success, 1 rolled back, 2 bad usage, 3 another deployment in progress, 4 other failure.
`
