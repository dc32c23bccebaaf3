// Package cwmonitor is a bluegreen.Monitor over Amazon CloudWatch alarms:
// the rollback alarms of an ECS deployment. An alarm in the ALARM state
// fires, with its name and its state reason; OK and INSUFFICIENT_DATA do not.
//
// Alarms are named (Options.AlarmNames) or matched by a name prefix
// (Options.AlarmNamePrefix), or both; metric and composite alarms are
// watched alike. Each Check reads them with DescribeAlarms: one call per 100
// named alarms, plus one per 100 alarms matching the prefix.
//
// # Many deployments: the Poller
//
// A Poller shared by the Monitors of a process (Options.Poller) reads the
// alarms of every in-flight deployment in batches of 100 names, at most
// once per PollerOptions.Interval, and answers each Check from the latest
// batch; see Poller.
//
// # Alarms already in ALARM when a deployment starts
//
// By default they fire: Check reports every watched alarm in ALARM, however
// long it has been there. This is what ECS does with a deployment's rollback
// alarms, and it is the safe choice — an alarm that is firing says the
// service is unhealthy, and a deployment should not proceed on top of that
// unnoticed. The Deployer checks monitors from the first production traffic
// step on, so such a deployment rolls back there, before green has more
// than its first step of production traffic.
//
// With Options.IgnorePreexisting, an alarm fires only if its state last
// changed (StateTransitionedTimestamp, else StateUpdatedTimestamp) at or
// after the deployment's start, bluegreen.MonitorInput.Started, which the
// Deployer sets when the deployment begins, in RECONCILE_SERVICE. An alarm
// that changed to ALARM during the deployment fires, even if it did so in
// a stage before the first Check (with test traffic on green, say); one
// that has been in ALARM since before the start is ignored until it goes
// back to OK and fires again. A change of reason alone is not a change of
// state. The Monitor keeps no state, so this holds across
// restarts and for a deployment resumed by another process, whose Started
// is the original start. A zero Started (a caller that does not know when
// its deployment began) ignores nothing. The start is this host's clock and
// the timestamps are CloudWatch's: a skew of seconds between them moves the
// boundary by as much.
//
// # Errors
//
// A named alarm that does not exist fails the Check (CodeNotFound), so that
// a misspelt name cannot leave a deployment unwatched; the Deployer rolls
// back after MonitorErrorLimit such failures in a row. A prefix that
// matches nothing is not an error. Errors of DescribeAlarms carry a
// bluegreen code (see Monitor.ErrorCode); the SDK's retryer has already
// retried throttling and 5xx responses, and this package adds no retry
// loop of its own.
package cwmonitor
