// Package dynamostore is a bluegreen.Store on Amazon DynamoDB: one item per
// service, written with conditional writes, so that any number of
// processes share the state and leases of their deployments safely.
//
// # Item
//
// The table has a string partition key (Options.KeyAttribute, "service" by
// default) and no sort key; Store.CreateTableInput describes it. A
// service's item holds:
//
//	service       S  the service name (the key)
//	version       N  the record's version, for compare-and-swap; 1, 2, 3…
//	format        N  the layout of body; 1
//	body          S  the bluegreen.Record as JSON (times in RFC 3339 with
//	                 nanoseconds), without its version
//	leaseOwner    S  the lease holder, if any (a copy from body, for people
//	                 and for conflict messages)
//	leaseExpires  N  when the lease lapses, Unix milliseconds, if any
//
// # Compare-and-swap
//
// Load is a strongly consistent GetItem. Save is one PutItem, conditioned on
// attribute_not_exists(service) when the record's Version is 0 and on
// version = :v otherwise; it writes version+1. A Save that loses the race
// fails with bluegreen.CodeConflict and an error naming the stored version
// and the lease holder (read from the ConditionalCheckFailedException with
// ReturnValuesOnConditionCheckFailure ALL_OLD, at no extra cost), and
// writes nothing.
//
// # Corrupt items
//
// An item this package cannot read (no numeric version, a body that is not
// a record of this service, an unknown format) makes Load fail with an
// error that wraps ErrCorrupt and has bluegreen.CodeFailedPrecondition,
// naming the table, the key and the fault. Nothing overwrites it unawares:
// a Save with Version 0 meets an existing item, and a Save with another
// version fails unless the item still has a numeric version of format 1
// equal to it — which only a writer that loaded the item before it was
// damaged can hold. Fix or delete the item by hand.
//
// Errors carry a bluegreen code (see Store.ErrorCode); the SDK's retryer
// has already retried throttling and 5xx responses, and this package adds
// no retry loop of its own.
package dynamostore
