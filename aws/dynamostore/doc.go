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
//	service          S  the service name (the key)
//	version          N  the record's version, for compare-and-swap; 1, 2, 3…
//	format           N  the layout of the item; 2 (1: an older layout, still read)
//	body             S  the Deployer's state document, verbatim JSON
//	leaseOwner       S  the lease holder, if any
//	leaseExpires     N  when the lease lapses, Unix milliseconds, if any
//	leaseHeartbeat   BOOL true if the owner's heartbeat keeps the lease beyond
//	                    leaseExpires (driver.Lease.Heartbeat), absent if not
//	unfinished       S  the service name, only while a deployment is unfinished
//	unfinishedShard  S  "0" to "7", a hash of the service name, only while
//	                    unfinished: the partition key of the index below
//
// # Listing unfinished deployments
//
// Store implements driver.Lister, which Deployer.Run needs to adopt the
// deployments of replicas that are gone, with a sparse global secondary
// index (Options.UnfinishedIndex, "unfinished" by default): partition key
// unfinishedShard, sort key the service, keys only. An item is in the index
// only while both attributes are present, that is while its deployment is
// unfinished, so Unfinished reads the deployments in flight — eight
// paginated Queries, one per shard — and never scans the table. The shards
// spread the index's writes over partitions. CreateTableInput includes the
// index; add it to an existing table with UpdateTable. Items written by
// earlier versions of this package lack unfinishedShard and are listed
// once a Deployer saves them again. The IAM policy needs dynamodb:Query on
// the index (arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/index/*) in
// addition to GetItem, PutItem and DeleteItem on the table.
//
// # Heartbeat records
//
// A Deployer writes one heartbeat record of its own (bluegreen.ReplicaKey)
// while it drives deployments, and deletes it (Delete: one DeleteItem,
// conditioned on the version it last wrote) once it drives none, so that
// Deployers that come and go, each with an Owner of its own, leave no items
// behind.
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
// version fails unless the item still has a numeric version equal to it
// and a format of 2 or less — which only a writer that loaded the item
// before it was damaged can hold. Fix or delete the item by hand.
//
// Errors carry a bluegreen code (see Store.ErrorCode); the SDK's retryer
// has already retried throttling and 5xx responses, and this package adds
// no retry loop of its own.
package dynamostore
