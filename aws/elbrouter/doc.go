// Package elbrouter routes a service's traffic with Elastic Load Balancing v2
// listener rules: it implements bluegreen.Router, bluegreen.Verifier and
// bluegreen.ErrorCoder over the aws-sdk-go-v2 ELBv2 client.
//
// Each service has a production route (a listener rule, or a listener's
// default action) and optionally a test route (a rule on a separate test
// listener, or a header-condition rule), and two target groups, one per slot.
// The production route forwards to both target groups with weights; the test
// route forwards to the test slot's target group alone.
//
// Only the target groups and weights of the route's forward action change.
// The rule's conditions, priority, other actions (authentication, say) and
// target group stickiness are read first and written back as they were.
//
// # Weights
//
// bluegreen weights are tenths of a percent (0–1000) and ALB weights are
// 0–999, so a weight in tenths is written as the ALB weight unchanged, which
// keeps 0.1% exact (A=999 B=1 is A=99.9% B=0.1%); all of the traffic (1000)
// is written as 999 with the other target group at 0. Reading converts back:
// weights that sum to 1000 are taken as tenths, one non-zero weight is all of
// the traffic, anything else is scaled to tenths. Routes that send nothing
// anywhere (the zero Weights, before a service's first deployment) are
// written as both target groups at weight 0.
//
// # The test route
//
// A test route forwarding to one target group reports that group's slot. A
// test route with no test slot (Routes.Test "") forwards to both target
// groups with the production weights, so test traffic goes where production
// traffic goes, and reads back as "". A service with no test route
// configured ignores Routes.Test.
//
// # Errors and retries
//
// Calls go through the SDK client's retryer, which already retries throttling
// and transient errors; the router adds no retry loop of its own. ErrorCode
// maps API error codes to bluegreen codes.
package elbrouter
