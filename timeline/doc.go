// Package timeline draws a picture of a deployment: an SVG timeline rendered
// from its event log ([]bluegreen.Event), with no browser or external tool.
//
// The picture has one lane per member of a release group (one lane for a
// single service's deployment). Each lane shows, along a shared time axis
// with elapsed-time ticks:
//
//   - the lifecycle stages as bars, labelled, one bar per production step;
//   - green's share of production traffic (0–100%) as a step curve, and the
//     slot the test route points at (green or blue) as a dashed one;
//   - hook calls and their answers (SUCCEEDED, FAILED, IN_PROGRESS), pauses,
//     continues and promotions as markers;
//   - monitor events (MONITOR_FIRED, MONITOR_INCONCLUSIVE), retries, an
//     adoption (ADOPTED) and a settled earlier deployment (RECONCILED);
//   - the rollback as a marked span, with its trigger and reason;
//   - when the caller passes samples of the router's counters (as
//     proxy.Metrics reports them), requests and errors per second of each
//     environment in a small chart under the lane.
//
// A legend explains the marks. Every mark carries a class attribute (lane,
// stage, production-weight, test-route, marker, rollback, requests, errors)
// and a <title> with its details, so the picture can be checked by a
// program and read in a browser, where hovering shows the details.
//
// Event logs are saved as JSON lines, one event a line, as they happen; read
// them back with ReadJSONLines. Samples are saved and read the same way
// (ReadSamples).
package timeline
