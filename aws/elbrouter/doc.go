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
// # Rules made elsewhere
//
// Routes reads rules the router never wrote, as the console, a template or
// another deployment tool left them, so that a first deployment onto a
// service that already serves traffic knows which slot serves it: a forward
// action that names one target group (in TargetGroupArn, or in a forward
// config with or without a weight) sends all of the traffic there, and
// weights set by hand (80 and 20, 1 and 3) are read as their shares. A
// route that forwards to a target group of neither slot, even at weight 0,
// is an *UnknownTargetGroupError naming it, from Routes and from SetRoutes
// alike: the router neither guesses where that traffic belongs nor drops it.
// A route with no forward action is an error too.
//
// # The test route
//
// A test route forwarding to one target group reports that group's slot. A
// test route with no test slot (Routes.Test "") forwards to both target
// groups with the production weights, so test traffic goes where production
// traffic goes, and reads back as "". A service with no test route
// configured ignores Routes.Test.
//
// # Shared reads
//
// One Router serving many services (one per process, say, for every
// deployment it runs) shares the reads of services that overlap: a read
// that arrives while another read's DescribeRules call is in flight waits
// for it, and the reads waiting then make one call for the union of their
// rules, 20 at most a call (DescribeListeners likewise). Each read gets its
// own rules alone; a shared call that fails (a rule deleted, say) is
// retried per read, so that each read gets its own answer. A read whose
// context ends stops waiting without stopping the call for the others.
// Options.SeparateReads turns the sharing off.
//
// # Errors and retries
//
// Calls go through the SDK client's retryer, which already retries throttling
// and transient errors; the router adds no retry loop of its own. ErrorCode
// maps API error codes to bluegreen codes.
package elbrouter
