package bluegreen

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/bluegreen-go/bluegreen/driver"
)

// A Deployer keeps its leases alive with one heartbeat, not one renewal per
// deployment. While it drives deployments it writes a record of its own
// (key ReplicaKey(Owner)) every third of LeaseTTL, and a deployment's record
// is written only when the deployment's state changes: its lease is marked
// as kept by the heartbeat (driver.Lease.Heartbeat) and counts as held while
// either its own expiry or the owner's heartbeat is in the future. A
// thousand deployments waiting out their steps cost one store write per
// renewal interval instead of a thousand; a dead replica's heartbeat stops
// and all its deployments lapse together, LeaseTTL after its last beat.
//
// Safety does not rest on the heartbeat: every write to a deployment's
// record is still a compare-and-swap on its version (the fencing token), so
// a replica whose deployment was adopted stops at its next write. When a
// beat fails so long that the heartbeat may lapse, each deployment falls
// back to renewing its own record, as if there were no heartbeat.

// replicaPrefix begins the store key of a Deployer's heartbeat record.
// Service names may not begin with it.
const replicaPrefix = "replica:"

// ReplicaKey returns the store key of the heartbeat record of the Deployer
// named owner (Config.Owner): "replica:" and the owner, with the characters
// a file name cannot hold replaced and a hash of the owner added when any
// was, so that different owners never share a key.
func ReplicaKey(owner string) string {
	var b strings.Builder
	b.WriteString(replicaPrefix)
	changed := false
	for i, c := range owner {
		switch {
		case c == '/' || c == '\\' || unicode.IsControl(c) || c == unicode.ReplacementChar || (i == 0 && c == '.'):
			b.WriteByte('_')
			changed = true
		default:
			b.WriteRune(c)
		}
		if b.Len() > 150 {
			changed = true
			break
		}
	}
	if changed {
		h := fnv.New32a()
		h.Write([]byte(owner))
		fmt.Fprintf(&b, "-%08x", h.Sum32())
	}
	return b.String()
}

// heartbeat is a Deployer's heartbeat record as last written. There is no
// goroutine of its own: the deployments beat it, whichever finds it due
// first when it wakes to renew its lease, so that a Deployer that drives
// nothing writes nothing and a single deployment beats in its own order.
// Group members' Deployers share their parent's.
type heartbeat struct {
	d *Deployer

	mu      sync.Mutex // held while beating: one beat at a time
	version int64      // of the heartbeat record, as last written
	// until is the expiry of the last beat written, in Unix nanoseconds:
	// read by every deployment at each wake-up, so without the mutex,
	// which a beat holds across its store call.
	until atomic.Int64
	// unheld are leases of deployments that ended unfinished and could not
	// be turned into leases that lapse on their own (the store failed):
	// retried at every beat, because the heartbeat would keep them held.
	unheld map[string]driver.Record
}

func newHeartbeat(d *Deployer) *heartbeat {
	return &heartbeat{d: d, unheld: map[string]driver.Record{}}
}

// covers returns the time until which the heartbeat is known to keep this
// Deployer's leases held.
func (h *heartbeat) covers() time.Time {
	if n := h.until.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// renew beats if less than two thirds of LeaseTTL are left on the
// heartbeat, and reports whether the heartbeat now keeps the leases held
// for at least that long. A failed beat is logged; the caller then renews
// its own record.
func (h *heartbeat) renew(ctx context.Context) bool {
	cfg := &h.d.cfg
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.covers().Sub(cfg.Clock.Now()) > cfg.LeaseTTL*2/3 {
		return true // another deployment beat it just now
	}
	key := ReplicaKey(cfg.Owner)
	for attempt := 0; ; attempt++ {
		now := cfg.Clock.Now()
		rec := driver.Record{Service: key, Version: h.version, Lease: driver.Lease{Owner: cfg.Owner, Expires: now.Add(cfg.LeaseTTL)}}
		v, err := cfg.Store.Save(ctx, rec)
		if err == nil {
			h.version = v
			h.until.Store(rec.Lease.Expires.UnixNano())
			h.d.metrics.heartbeats.Add(1)
			break
		}
		if ErrorCode(err) == CodeConflict && attempt == 0 {
			// The first beat of this Deployer over the record of an earlier
			// one of the same owner name: take its version and write again.
			if old, lerr := cfg.Store.Load(ctx, key); lerr == nil {
				h.version = old.Version
				continue
			}
		}
		h.d.log.WarnContext(ctx, "heartbeat not written; deployments renew their own leases until it is", "key", key, "error", err.Error())
		return false
	}
	for service, rec := range h.unheld {
		if h.d.letLapse(ctx, rec) {
			delete(h.unheld, service)
		}
	}
	return true
}

// retire deletes the heartbeat record once this Deployer drives no
// deployment, when the store can delete (driver.Deleter): Deployers come
// and go (a process per deployment, each with an Owner of its own), and
// each would otherwise leave its record behind for good. Nothing refers to
// it then: every lease this Deployer took was given up or made to lapse
// on its own (a lease left unheld keeps it). A deployment that begins
// meanwhile holds its lease by its own expiry until its first beat, which
// writes the record anew.
func (h *heartbeat) retire(ctx context.Context) {
	del, ok := h.d.cfg.Store.(driver.Deleter)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.version == 0 || len(h.unheld) > 0 || h.d.inFlight() > 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.d.cfg.LeaseTTL/3)
	defer cancel()
	key := ReplicaKey(h.d.cfg.Owner)
	err := del.Delete(ctx, key, h.version)
	if err != nil && ErrorCode(err) != CodeConflict {
		h.d.log.WarnContext(ctx, "heartbeat record not deleted; it is written again at the next beat", "key", key, "error", err.Error())
		return
	}
	// Deleted, or changed by another Deployer of the same owner name:
	// either way the next beat starts from what is stored.
	h.version = 0
	h.until.Store(0)
}

// leaveUnheld records that the lease in rec could not be made to lapse on
// its own, so that the loop tries again.
func (h *heartbeat) leaveUnheld(rec driver.Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unheld[rec.Service] = rec
}

// letLapse writes rec with its lease no longer kept by the heartbeat but
// expiring LeaseTTL from now, and reports whether that is settled: written,
// or refused because the record changed (then the lease is not ours).
func (d *Deployer) letLapse(ctx context.Context, rec driver.Record) bool {
	rec.Lease.Heartbeat = false
	rec.Lease.Expires = d.cfg.Clock.Now().Add(d.cfg.LeaseTTL)
	_, err := d.cfg.Store.Save(ctx, rec)
	return err == nil || ErrorCode(err) == CodeConflict
}

// endLease runs when a run ends. A run that still holds its lease stopped
// without finishing (its context was canceled with CancelDetach, or its
// store failed): its lease is turned into one that lapses LeaseTTL from now,
// as a dead owner's would, because the heartbeat goes on while this Deployer
// drives other deployments and would keep this one from being adopted.
func (r *run) endLease() {
	if r.rec.Lease.Owner == "" || !r.rec.Lease.Heartbeat {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.d.cfg.LeaseTTL/3)
	defer cancel()
	if !r.d.letLapse(ctx, r.rec) {
		r.d.hb.leaveUnheld(r.rec)
	}
	r.rec.Lease.Heartbeat = false
}

// renewAt returns when the run's lease needs renewing, and false if the
// run holds no lease: when less than two thirds of LeaseTTL are left on
// both the record's own expiry and the heartbeat's.
func (r *run) renewAt() (time.Time, bool) {
	if r.rec.Lease.Owner == "" {
		return time.Time{}, false
	}
	ttl := r.d.cfg.LeaseTTL
	at := r.lastSave.Add(ttl / 3)
	if r.rec.Lease.Heartbeat {
		at = later(at, r.d.hb.covers().Add(-ttl*2/3))
	}
	return at, true
}

// renewDue reports whether the run's lease needs renewing at now.
func (r *run) renewDue(now time.Time) bool {
	at, ok := r.renewAt()
	return ok && !now.Before(at)
}

// renewByHeartbeat renews the run's lease through the heartbeat, and
// reports whether it did; if not, the run renews its record itself.
func (r *run) renewByHeartbeat(ctx context.Context) bool {
	return r.rec.Lease.Heartbeat && r.d.hb.renew(ctx)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// leaseHeld reports whether rec's lease keeps this Deployer out at now, and
// until when it is known to. A lease kept by a heartbeat is looked up in the
// owner's heartbeat record (once per owner, with beats as a cache, if not
// nil). If that record cannot be read, the lease counts as held.
func (d *Deployer) leaseHeld(ctx context.Context, rec driver.Record, now time.Time, beats map[string]time.Time) (bool, time.Time, error) {
	l := rec.Lease
	switch {
	case l.Owner == "" || l.Owner == d.cfg.Owner:
		return false, time.Time{}, nil
	case now.Before(l.Expires):
		return true, l.Expires, nil
	case !l.Heartbeat:
		return false, time.Time{}, nil
	}
	until, err := d.heartbeatOf(ctx, l.Owner, beats)
	if err != nil {
		return true, time.Time{}, wrap(d.cfg.Store, rec.Service, 0, "Store.Load", fmt.Errorf("reading the heartbeat of %s, which holds the lease: %w", l.Owner, err))
	}
	return now.Before(until), until, nil
}

// heartbeatOf returns when owner's heartbeat expires (zero if it has none),
// from beats if it holds it (a cache, if not nil) or from the store.
func (d *Deployer) heartbeatOf(ctx context.Context, owner string, beats map[string]time.Time) (time.Time, error) {
	if until, ok := beats[owner]; ok {
		return until, nil
	}
	hb, err := d.cfg.Store.Load(ctx, ReplicaKey(owner))
	if err != nil {
		return time.Time{}, err
	}
	var until time.Time
	if hb.Lease.Owner == owner {
		until = hb.Lease.Expires
	}
	if beats != nil {
		beats[owner] = until
	}
	return until, nil
}
