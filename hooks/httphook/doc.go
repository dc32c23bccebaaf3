// Package httphook runs bluegreen lifecycle hooks over HTTPS, with the
// payload and answer of the ECS lifecycle-hook contract that aws/lambdahook
// speaks over Lambda, so that a team can serve its smoke tests and approval
// gates from any web service instead of a Lambda function.
//
// # Request
//
// Each call of a Hook is one POST to Options.URL with a JSON body: the ECS
// lifecycle-hook payload, exactly as aws/lambdahook sends it (executionId,
// lifecycleStage, resourceArn, executionDetails, hookDetails; see the
// lambdahook package documentation for how each field is filled), plus one
// object the ECS contract does not have, "bluegreen", holding the whole
// bluegreen.HookInput (deploymentId, service, stage, step, blue, green,
// routes, rollback, attempt) without its details (they are in hookDetails)
// and without the revisions' Spec (a backend's body may hold secrets; only
// revision names are sent):
//
//	POST /hooks/smoke HTTP/1.1
//	Content-Type: application/json
//	X-Bluegreen-Timestamp: 1767225600
//	X-Bluegreen-Signature: v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
//	{"executionId":"…","lifecycleStage":"POST_TEST_TRAFFIC_SHIFT","resourceArn":"d-1",
//	 "executionDetails":{…},"hookDetails":{…},"bluegreen":{"deploymentId":"d-1",…}}
//
// # Signature
//
// X-Bluegreen-Timestamp is the time of the call in Unix seconds (decimal).
// X-Bluegreen-Signature is "v1=" followed by the lower-case hex HMAC-SHA256,
// keyed with the shared secret, of the string
//
//	timestamp + "." + body
//
// (the timestamp header's value, a full stop, and the raw request body
// bytes). A receiver recomputes it over the bytes it read, compares it in
// constant time and refuses a timestamp further than a window (five minutes
// by default) from its own clock, so that a captured request cannot be
// replayed later. The header may list several comma-separated "v1=" values
// (a sender rotating secrets); one match is enough. Verify does all of this;
// Handler uses it.
//
// # Response
//
// The receiver answers 200 with {"hookStatus": "SUCCEEDED"|"FAILED"|
// "IN_PROGRESS", "callBackDelay": seconds, "hookDetails": {…}}, read as
// lambdahook.ParseResponse reads a Lambda's answer, and optionally
// "reason": a string carried into the FAILED result's Reason. A 200 whose
// body is malformed is a FAILED result saying why.
//
// # Failures, timeouts and retries
//
// Every call is bounded by Options.Timeout (30 s by default). The Hook does
// not retry within a call: it returns an error with a bluegreen code, and
// the Deployer, which already calls a hook again after the callback delay
// when its error is retryable, retries until the hook's own timeout. So
// 5xx answers, 408 and 425, refused and reset connections and a call that
// runs out of Options.Timeout are CodeTransient (or CodeTimeout); 429 is
// CodeThrottled. 401 and 403 (a receiver refusing the signature: a wrong
// secret or a clock too far off) are CodePermission, 404 and 410
// CodeNotFound, redirects (never followed: the signed body would go
// elsewhere) and other 4xx CodeInvalid; those end the hook as FAILED.
//
// Payloads, hook details and secrets are never logged.
package httphook
