// Package driver holds what store implementers need and nothing a deploying
// program uses: the record a Store keeps per service, its lease, and the
// Store interface itself. It follows the split of the Go Cloud Development
// Kit between a portable type and its driver interface: the Deployer (in
// package bluegreen) owns the meaning of a record's State, which stores keep
// as opaque bytes, so that changes to the engine do not break stores.
//
// A Store implementation needs three things from this package: Record, Lease
// and the Store interface; bluegreentest.TestStore checks it against the
// contract. Optional abilities are separate interfaces (Lister).
package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Record is everything a Store keeps about one service. Lease and state live
// in one record so that a single compare-and-swap changes both: a write that
// carries a stale Version is refused, which makes the version the lease's
// fencing token.
type Record struct {
	// Service names the service; the record's key.
	Service string `json:"service"`
	// Version is the stored version, for compare-and-swap; 0 when nothing is
	// stored yet. Stores set it; writers pass back what they loaded.
	Version int64 `json:"version"`
	// Lease is the claim of the owner driving the service's deployment, if any.
	Lease Lease `json:"lease,omitzero"`
	// Unfinished is set while a deployment is in flight or was left unfinished
	// by an owner that died: what a fleet of Deployers looks for to adopt.
	// Stores that implement Lister index it.
	Unfinished bool `json:"unfinished,omitempty"`
	// State is the Deployer's state of the service: a JSON document whose
	// layout the Deployer versions and reads back. Stores keep it verbatim
	// and must not interpret it.
	State json.RawMessage `json:"state,omitempty"`
}

// Clone returns a deep copy of r, sharing nothing with it.
func (r Record) Clone() Record {
	if r.State != nil {
		r.State = bytes.Clone(r.State)
	}
	return r
}

// Lease is a claim on a service: while it is held and not expired, no other
// owner may drive the service's deployments.
type Lease struct {
	// Owner identifies the holder, such as "host-1/pid-42".
	Owner string `json:"owner,omitempty"`
	// Expires is when the lease lapses unless its owner renews it.
	Expires time.Time `json:"expires,omitzero"`
	// Heartbeat is set when the owner keeps the lease held beyond Expires
	// with its heartbeat: a record of its own (bluegreen.ReplicaKey) that
	// it rewrites while it runs, instead of rewriting every record it
	// holds. Such a lease lapses when both Expires and the heartbeat
	// record's Expires have passed. Stores keep the field like any other.
	Heartbeat bool `json:"heartbeat,omitempty"`
}

// HeldByOther reports whether the lease is held, at now, by an owner other
// than owner (and so keeps owner out), by its own expiry alone: a lease
// kept by a heartbeat can be held beyond it (the Deployer also reads the
// owner's heartbeat record).
func (l Lease) HeldByOther(owner string, now time.Time) bool {
	return l.Owner != "" && l.Owner != owner && now.Before(l.Expires)
}

// Store persists one Record per service and arbitrates who may deploy it.
// Every write is a compare-and-swap on the record's version, so the lease and
// the deployment's state change together, atomically, across processes.
type Store interface {
	// Load returns the record of service. A service with no record yet gets
	// Record{Service: service} (Version 0) and no error.
	Load(ctx context.Context, service string) (Record, error)
	// Save writes rec if the stored version is still rec.Version (0: no record
	// stored yet) and returns the new version. If the stored version differs,
	// it writes nothing and returns an error for which
	// bluegreen.ErrorCode(err) is bluegreen.CodeConflict.
	Save(ctx context.Context, rec Record) (int64, error)
}

// Lister is an optional interface of Store for stores that can find the
// services whose record is Unfinished without reading every record (a
// DynamoDB sparse index, a directory scan of small files).
type Lister interface {
	// Unfinished returns the services whose record has Unfinished set, in
	// no particular order, each with what the store knows of its lease
	// without reading the record.
	Unfinished(ctx context.Context) ([]Listed, error)
}

// Deleter is an optional interface of Store for stores that can remove a
// record. The Deployer removes only its own heartbeat record
// (bluegreen.ReplicaKey), once it drives no deployment, so that Deployers
// that come and go (a process per deployment, each with an Owner of its
// own) leave no record behind; deployments' records are never removed.
type Deleter interface {
	// Delete removes the record of service if the stored version is still
	// version (at least 1). If it differs, or there is no record, it
	// removes nothing and returns an error for which
	// bluegreen.ErrorCode(err) is bluegreen.CodeConflict. A removed
	// record starts again at version 0, so versions repeat: remove only a
	// record that nobody else writes.
	Delete(ctx context.Context, service string, version int64) error
}

// Listed is one unfinished record as a Lister lists it. Lease holds what
// the store can tell of the record's lease in the same read: a store that
// fills it in spares an adopter the loading of every record whose owner is
// alive (the owner's heartbeat says so). An empty Lease means no owner or
// not known; Expires may be zero (not known) while Owner is set. A listing
// may lag behind the records (an index that is eventually consistent):
// adopters load a record before acting on it.
type Listed struct {
	Service string `json:"service"`
	Lease   Lease  `json:"lease,omitzero"`
}
