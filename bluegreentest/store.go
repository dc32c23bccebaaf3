package bluegreentest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
)

// ErrCrashed is returned by every call of a Store after it crashed (see
// Store.CrashAfter). Test for it with errors.Is.
var ErrCrashed = errors.New("bluegreentest: store crashed")

// Store wraps a bluegreen.Store, recording every call (see Recorder; the
// operations are "Load" and "Save"), failing calls on demand and crashing
// after a given number of saves. It is safe for concurrent use.
type Store struct {
	Recorder

	inner bluegreen.Store

	mu          sync.Mutex
	saved       map[string][]driver.Record
	crashIn     int  // successful saves left before the crash; 0: no crash armed
	crashBefore bool // the crash comes instead of the last save, not after it
	crashed     bool
	onCrash     func()
}

// NewStore wraps inner; a new bluegreen.NewMemoryStore if inner is nil.
func NewStore(inner bluegreen.Store) *Store {
	if inner == nil {
		inner = bluegreen.NewMemoryStore()
	}
	return &Store{inner: inner, saved: map[string][]driver.Record{}}
}

// Inner returns the wrapped store, which a test hands to a fresh Deployer to
// play the process that starts after a crash.
func (s *Store) Inner() bluegreen.Store { return s.inner }

// CrashAfter arms a crash: once saves more saves have succeeded (at once if
// saves <= 0), then is called (if not nil) before that last Save returns,
// and every later call fails with ErrCrashed until Recover. A test cancels
// the Deployer's context in then, or stops other fakes, to stop a deployment
// between a persisted transition and the action that follows it.
func (s *Store) CrashAfter(saves int, then func()) {
	s.mu.Lock()
	s.onCrash = then
	s.crashIn = saves
	crashNow := saves <= 0
	if crashNow {
		s.crashed = true
	}
	s.mu.Unlock()
	if crashNow && then != nil {
		then()
	}
}

// CrashBefore arms a crash in the other window: saves-1 more saves succeed,
// then the next Save writes nothing and fails with ErrCrashed, then is
// called (if not nil), and every later call fails until Recover. A
// Deployer under test has by then acted on what it saved last but not
// recorded what it did: the "acted, not yet saved" window.
func (s *Store) CrashBefore(saves int, then func()) {
	s.mu.Lock()
	s.onCrash = then
	s.crashIn = max(saves, 1)
	s.crashBefore = true
	s.mu.Unlock()
}

// Crashed reports whether the store has crashed.
func (s *Store) Crashed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crashed
}

// Recover undoes a crash (or disarms one): calls reach the wrapped store again.
func (s *Store) Recover() {
	s.mu.Lock()
	s.crashed, s.crashIn, s.onCrash, s.crashBefore = false, 0, nil, false
	s.mu.Unlock()
}

func (s *Store) checkCrashed(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashed {
		return fmt.Errorf("bluegreentest: %s: %w", op, ErrCrashed)
	}
	return nil
}

// Load loads service's record from the wrapped store.
func (s *Store) Load(ctx context.Context, service string) (driver.Record, error) {
	if err := s.record(ctx, Call{Op: "Load", Service: service}); err != nil {
		return driver.Record{}, err
	}
	if err := s.checkCrashed("Load"); err != nil {
		return driver.Record{}, err
	}
	return s.inner.Load(ctx, service)
}

// Save saves rec in the wrapped store and counts the save towards an armed crash.
func (s *Store) Save(ctx context.Context, rec driver.Record) (int64, error) {
	// One copy serves the call log and the list of saved records: neither
	// is ever changed in place.
	snapshot := rec.Clone()
	if err := s.record(ctx, Call{Op: "Save", Service: rec.Service, Detail: saveDetail(rec), Arg: snapshot}); err != nil {
		return 0, err
	}
	s.mu.Lock()
	if s.crashed {
		s.mu.Unlock()
		return 0, fmt.Errorf("bluegreentest: Save: %w", ErrCrashed)
	}
	if s.crashBefore && s.crashIn == 1 {
		s.crashed, s.crashIn = true, 0
		then := s.onCrash
		s.mu.Unlock()
		if then != nil {
			then()
		}
		return 0, fmt.Errorf("bluegreentest: Save: %w", ErrCrashed)
	}
	s.mu.Unlock()
	v, err := s.inner.Save(ctx, rec)
	if err != nil {
		return 0, err
	}
	saved := snapshot
	saved.Version = v
	s.mu.Lock()
	s.saved[rec.Service] = append(s.saved[rec.Service], saved)
	var then func()
	if s.crashIn > 0 {
		s.crashIn--
		if s.crashIn == 0 {
			s.crashed, then = true, s.onCrash
		}
	}
	s.mu.Unlock()
	if then != nil {
		then()
	}
	return v, nil
}

func saveDetail(rec driver.Record) string {
	d := "version " + strconv.FormatInt(rec.Version, 10)
	if rec.Lease.Owner != "" {
		d += " lease " + rec.Lease.Owner
	}
	if rec.Unfinished {
		d += " unfinished"
	}
	return d
}

// Unfinished lists the services whose record is unfinished, from the
// wrapped store (driver.Lister); it fails with bluegreen.CodeFailedPrecondition
// if the wrapped store cannot list. It is recorded as "Unfinished" and
// fails on demand like the other operations.
func (s *Store) Unfinished(ctx context.Context) ([]driver.Listed, error) {
	if err := s.record(ctx, Call{Op: "Unfinished"}); err != nil {
		return nil, err
	}
	if err := s.checkCrashed("Unfinished"); err != nil {
		return nil, err
	}
	l, ok := s.inner.(driver.Lister)
	if !ok {
		return nil, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("bluegreentest: the wrapped %T cannot list unfinished records", s.inner))
	}
	return l.Unfinished(ctx)
}

// Delete removes service's record from the wrapped store
// (driver.Deleter); it fails with bluegreen.CodeFailedPrecondition if the
// wrapped store cannot remove records. It is recorded as "Delete" and fails
// on demand like the other operations, but does not count towards an
// armed crash, which counts saves.
func (s *Store) Delete(ctx context.Context, service string, version int64) error {
	if err := s.record(ctx, Call{Op: "Delete", Service: service}); err != nil {
		return err
	}
	if err := s.checkCrashed("Delete"); err != nil {
		return err
	}
	d, ok := s.inner.(driver.Deleter)
	if !ok {
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("bluegreentest: the wrapped %T cannot remove records", s.inner))
	}
	return d.Delete(ctx, service, version)
}

// State returns the Deployer's view of service as the wrapped store holds
// it (bluegreen.ReadState over Inner), failing the test helper's caller
// with an error if it cannot be read.
func (s *Store) State(ctx context.Context, service string) (bluegreen.ServiceState, error) {
	return bluegreen.ReadState(ctx, s.inner, service)
}

// Saved returns every record of service that was saved successfully through
// this wrapper, in order, each with the version the save gave it.
func (s *Store) Saved(service string) []driver.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]driver.Record, len(s.saved[service]))
	for i, r := range s.saved[service] {
		out[i] = r.Clone()
	}
	return out
}

var _ bluegreen.Store = (*Store)(nil)
