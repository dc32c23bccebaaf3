// Package promonitor is a bluegreen.Monitor over Prometheus: an instant
// PromQL query, run over the HTTP API (/api/v1/query, JSON; no client
// library), judged against a threshold or against blue.
//
// The package is named promonitor, not prometheus, so that it does not
// collide at import sites with the Prometheus client library's packages
// (prometheus, promhttp, promauto) that the same program often imports to
// expose its metrics.
//
// # Queries
//
// Options.Query is a text/template over Values: the deployment's service,
// id, stage and step, and the judged environment's slot and revision, with
// quote to make a PromQL string literal:
//
//	sum(rate(http_requests_total{job="web",slot={{quote .Slot}},code=~"5.."}[2m]))
//	  / sum(rate(http_requests_total{job="web",slot={{quote .Slot}}}[2m]))
//
// Every Check runs the queries at one instant (the time parameter), so
// green and blue are read at the same moment. The answer must be a scalar
// or an instant vector; each sample of a vector is judged, and the alarm
// names those that break the limit, with their labels.
//
// # Three answers
//
// ALARM when a sample breaks the rule (value Comparison Threshold).
// INCONCLUSIVE when there is no evidence: the query answers an empty
// vector or NaN (no series yet; 0/0 with no requests), or
// Options.MinSampleQuery answers less than MinSamples — a green serving two
// requests a minute at a 10% step has too few requests for its error ratio
// to mean anything, and the Deployer holds the step (up to
// bluegreen.Config.InconclusiveTimeout, then Config.OnInconclusive) until
// it has. HEALTHY otherwise.
//
// # Comparing with blue
//
// With Options.Blue, the limit is blue's value of the same query (template
// values switched to blue's slot and revision) times Factor plus Margin:
// "green ≤ blue × 1.5 + 0.01". A first deployment, which has no blue, and a
// blue without an answer (no traffic left, too few samples) fall back to
// Threshold.
//
// # Errors
//
// A template that does not parse, or uses a field Values lacks, fails New
// with a *bluegreen.ConfigError naming the field and the query. A query
// Prometheus refuses is a *QueryError naming the query, with Prometheus's
// errorType and error ("bad_data: 1:5: parse error: ..."); it carries a
// bluegreen code (CodeInvalid for bad_data and execution, CodeTimeout,
// CodeTransient for 5xx and unreachable servers, CodePermission for 401
// and 403), and the Deployer rolls back after MonitorErrorLimit failed
// checks in a row. Each Check is bounded by Options.Timeout, which is also
// sent to Prometheus as the query timeout.
package promonitor
