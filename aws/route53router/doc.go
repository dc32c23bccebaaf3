// Package route53router routes a service's traffic with Amazon Route 53
// weighted records: it implements bluegreen.Router, bluegreen.Verifier and
// bluegreen.ErrorCoder over the aws-sdk-go-v2 Route 53 client. DNS
// weighting puts any two endpoints behind one name (two Elastic Beanstalk
// environments, two load balancers, two regions) and gives them linear and
// canary shifts.
//
// Production traffic goes through two weighted records of one name and
// type, one per slot, each pointing at its slot's target (a CNAME value or
// an alias target), with different set identifiers. Every change is one
// ChangeResourceRecordSets batch, so it is atomic: both weights and the
// test record change together, and a rollback is one batch. The test route
// is a simple record of a separate test hostname pointing at the test slot.
//
// Only the weight of an existing record changes: its set identifier, TTL,
// health check and alias target stay as they are. A zone whose records were
// made by someone else is adopted as it is: records are matched to slots by
// the target they point at, Routes reports the weights in force, and a
// simple record at the production name is replaced by the two weighted
// records in the first batch that splits traffic.
//
// # Weights
//
// Route 53 weights are integers 0–255 per record, and a record's share is
// its weight over the sum of the group's. RecordWeights converts 0.1%
// weights: 0% and 100% are exact (255 and 0), a slot with traffic never
// gets 0 and the two records are never both 0 while something is routed
// (Route 53 would answer both equally), and otherwise the pair is the
// closest fraction with both weights in 1–255. The smallest share is 1/256
// (0.39%), so a 0.1% canary gets 0.39%; over all 1001 steps the share in
// force is within 0.29 percentage points of the request, and near 50% it
// is exact to 0.1%. Routes reports the records' share (Share) rounded to
// 0.1%, except that for records it wrote itself it reports the weights it
// was asked for (see Router.Routes).
//
// # Verify: INSYNC, then the TTL
//
// A change is in force for every client only when Route 53's name servers
// have it (GetChange reports INSYNC) and resolvers have dropped the answers
// they cached before: the records' TTL later. Verify answers false until
// the TTL has passed since the change was seen INSYNC, so with a 60s TTL a
// step takes at least propagation (usually under a minute) plus 60s before
// the Deployer counts it as in force. Set bluegreen.Config.VerifyTimeout
// above that. Clients that ignore TTLs (some JVMs cache DNS forever) are
// beyond any DNS router's reach.
//
// # Errors and retries
//
// Calls go through the SDK client's retryer, which retries throttling
// (including PriorRequestNotComplete) and 5xx responses; the router adds no
// retry loop. ErrorCode maps API errors to bluegreen codes; a change batch
// refused because the records changed between the read and the write
// (InvalidChangeBatch) is CodeConflict. The IAM actions it needs are in
// aws/iam-policy-route53-beanstalk.json.
package route53router
