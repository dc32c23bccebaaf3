// Package lambdahook runs bluegreen lifecycle hooks as AWS Lambda functions,
// with the request payload Amazon ECS sends its blue/green lifecycle-hook
// Lambdas and the response ECS reads, so that functions written for ECS hooks
// work unchanged.
//
// # Request
//
// Each call is a synchronous Invoke (RequestResponse) with a Payload:
//
//	{
//	  "executionId":    "9b0c…",            // stable for one hook at one stage, step and direction
//	  "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
//	  "resourceArn":    "arn:aws:ecs:…:service-deployment/cluster/web/d-1",
//	  "executionDetails": {
//	    "serviceArn":               "arn:aws:ecs:…:service/cluster/web",
//	    "targetServiceRevisionArn": "web:42",
//	    "testTrafficWeights":       {},
//	    "productionTrafficWeights": {"web:42": 30, "web:41": 70}
//	  },
//	  "hookDetails": {…}                      // HookInput.Details, if any
//	}
//
// The fields come from the bluegreen.HookInput as follows:
//
//   - serviceArn is Options.ServiceARN(service); the service name by default.
//   - Revisions are named by Options.RevisionARN(environment); the revision
//     name ("web:42") by default. targetServiceRevisionArn names green. If
//     blue and green would get the same name (a redeployment of the same
//     revision), both get their slot appended ("web:42#A", "web:42#B") so
//     that the weight maps keep two keys.
//   - The weight maps are keyed by those names and hold percentages (0.1%
//     steps are kept: 0.1, 99.9). As in ECS, testTrafficWeights is filled at
//     TEST_TRAFFIC_SHIFT only (100 for the environment in the test route's
//     slot, 0 for the other), and productionTrafficWeights at
//     PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT only (the
//     production weights in force); both are {} elsewhere. On a service's
//     first deployment there is no blue, and only green is listed. During a
//     rollback the maps show traffic going back to blue, so a function can
//     tell a rollback the way it does on ECS.
//   - resourceArn is Options.ResourceARN(input); by default the ECS
//     service-deployment ARN derived from an ECS service ARN
//     (arn:…:service/cluster/name becomes arn:…:service-deployment/cluster/name/<deployment id>),
//     or the deployment id when serviceArn is not an ECS service ARN.
//   - executionId is a UUID-shaped hash of the function, deployment id,
//     stage, step and direction: the same on every IN_PROGRESS call of one
//     hook execution, different for the next.
//   - hookDetails is HookInput.Details: the configured details on the first
//     call; afterwards the configured details merged with those the function
//     returned with IN_PROGRESS.
//
// # Response
//
// The function answers {"hookStatus": "SUCCEEDED"|"FAILED"|"IN_PROGRESS",
// "callBackDelay": seconds, "hookDetails": {…}}; see ParseResponse. Field
// names and values are matched exactly (case-sensitive).
//
// As ECS does, the hookDetails a function returns with IN_PROGRESS are
// merged into the details passed on its next call: the keys it returned are
// added to the configured ones or replace them (see HookInput.Details).
//
// # Failures
//
// A function error (the X-Amz-Function-Error header: an exception, a
// timeout, an out-of-memory exit) and a malformed response are a FAILED
// result whose Reason says what happened — a deployment rolls back, as on
// ECS. Errors of the Invoke call itself are returned as errors classified
// with a bluegreen code: throttling is CodeThrottled, 5xx and connection
// failures CodeTransient (the Deployer calls the hook again after the
// callback delay), a missing function CodeNotFound, missing permission
// CodePermission (both end the hook as FAILED). The SDK's retryer has
// already retried each of them; this package adds no retry loop of its own.
//
// Payloads and hook details are never logged: they may carry secrets.
package lambdahook
