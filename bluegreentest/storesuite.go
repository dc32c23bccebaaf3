package bluegreentest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
	gocmp "github.com/google/go-cmp/cmp"
)

// TestStore runs the conformance tests of bluegreen.Store against the store
// newStore returns; it calls newStore once per subtest, and each store must
// start empty. The contract:
//
//   - Load of a service with no record returns Record{Service: service},
//     Version 0, and no error.
//   - Save with Version 0 creates the record and returns version 1; each
//     later Save with the version loaded returns a greater version, which
//     Load then reports.
//   - Save with any other version than the stored one (stale, ahead, or 0
//     for a record that exists) fails with an error for which
//     errors.Is(err, bluegreen.ErrConflict) holds, and changes nothing.
//   - A Record with every field set comes back from Load as saved. Its
//     State is compared as JSON, by value, not by bytes; the lease expiry by
//     instant, to the millisecond: a store must keep at least millisecond
//     precision, in any location.
//   - The store keeps its own copy: changing a Record after Save does not
//     change what Load returns.
//   - Compare-and-swap holds under concurrency: 8 goroutines each adding 1
//     to a counter in the record 25 times (Load, change, Save, again on
//     conflict) leave exactly 200.
//   - Load and Save fail when their context is already canceled, and such a
//     Save writes nothing.
//   - Services are independent.
//   - A store that implements driver.Lister lists exactly the services
//     whose record is Unfinished.
//   - A store that implements driver.Deleter removes a record at its
//     stored version only: a stale version, a record that is gone and a
//     version below 1 remove nothing (a conflict for the first two), and a
//     removed record can be created again from version 0.
func TestStore(t *testing.T, newStore func(t *testing.T) bluegreen.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*storeSuite, *testing.T)
	}{
		{"LoadAbsent", (*storeSuite).loadAbsent},
		{"SaveCreatesAndUpdates", (*storeSuite).saveCreatesAndUpdates},
		{"ConflictChangesNothing", (*storeSuite).conflictChangesNothing},
		{"FullRecordRoundTrips", (*storeSuite).fullRecordRoundTrips},
		{"KeepsItsOwnCopy", (*storeSuite).keepsItsOwnCopy},
		{"ConcurrentCompareAndSwap", (*storeSuite).concurrentCompareAndSwap},
		{"CanceledContext", (*storeSuite).canceledContext},
		{"ServicesAreIndependent", (*storeSuite).servicesAreIndependent},
		{"ListsUnfinished", (*storeSuite).listsUnfinished},
		{"DeletesAtItsVersion", (*storeSuite).deletesAtItsVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(&storeSuite{s: newStore(t), ctx: t.Context()}, t)
		})
	}
}

type storeSuite struct {
	s   bluegreen.Store
	ctx context.Context
}

// recordOpts compare records as the suite's contract says.
var recordOpts = gocmp.Options{equateJSON, equateTimes}

func (s *storeSuite) load(t *testing.T, service string) driver.Record {
	t.Helper()
	rec, err := s.s.Load(s.ctx, service)
	if err != nil {
		t.Fatalf("Load(%s): %v", service, err)
	}
	return rec
}

func (s *storeSuite) save(t *testing.T, rec driver.Record) int64 {
	t.Helper()
	v, err := s.s.Save(s.ctx, rec)
	if err != nil {
		t.Fatalf("Save(%s, version %d): %v", rec.Service, rec.Version, err)
	}
	return v
}

// check fails the test unless service's stored record is want.
func (s *storeSuite) check(t *testing.T, want driver.Record) {
	t.Helper()
	if diff := gocmp.Diff(want, s.load(t, want.Service), recordOpts); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", want.Service, diff)
	}
}

func (s *storeSuite) loadAbsent(t *testing.T) {
	s.check(t, driver.Record{Service: "web"})
}

func (s *storeSuite) saveCreatesAndUpdates(t *testing.T) {
	rec := driver.Record{Service: "web", Lease: driver.Lease{Owner: "a", Expires: time.UnixMilli(1_700_000_000_000)}}
	v1 := s.save(t, rec)
	if v1 != 1 {
		t.Errorf("Save of a new record returned version %d, want 1", v1)
	}
	rec.Version = v1
	s.check(t, rec)

	rec.Lease.Owner = "b"
	v2 := s.save(t, rec)
	if v2 <= v1 {
		t.Errorf("Save at version %d returned version %d, want a greater one", v1, v2)
	}
	rec.Version = v2
	s.check(t, rec)
}

func (s *storeSuite) conflictChangesNothing(t *testing.T) {
	rec := driver.Record{Service: "web", Lease: driver.Lease{Owner: "first"}}
	rec.Version = s.save(t, rec)
	stale := rec
	rec.Lease.Owner = "second"
	rec.Version = s.save(t, rec)
	for _, tc := range []struct {
		name    string
		version int64
	}{
		{"Stale", stale.Version},
		{"CreateExisting", 0},
		{"Ahead", rec.Version + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := driver.Record{Service: "web", Version: tc.version, Lease: driver.Lease{Owner: "intruder"}}
			v, err := s.s.Save(s.ctx, bad)
			if !errors.Is(err, bluegreen.ErrConflict) {
				t.Errorf("Save(version %d) with version %d stored = %d, %v; want an error matching bluegreen.ErrConflict", tc.version, rec.Version, v, err)
			}
			s.check(t, rec)
		})
	}
}

// FullRecord returns a Record of service with every field set, with a
// lease expiry that has a sub-millisecond part (a store must keep its
// milliseconds) and a State document that nests objects, arrays, escapes
// and numbers, as the Deployer's does. Version is 0, ready for a first Save.
// TestStore round-trips it; other tests of stores may use it.
func FullRecord(service string) driver.Record {
	expires := time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)
	return driver.Record{
		Service:    service,
		Lease:      driver.Lease{Owner: "host-1/pid-42/abc123", Expires: expires, Heartbeat: true},
		Unfinished: true,
		State: json.RawMessage(`{"format":1,"live":{"service":"` + service + `","slot":"A","revision":{"name":"web:41","spec":{"image":"web:41","env":{"A":"1"}}}},` +
			`"deployment":{"id":"d-green","phase":"ROLLING_BACK","steps":[{"green":1,"wait":300000000000},{"green":1000}],"note":"caf\u00e9 \"quoted\" <tag>","ratio":0.125}}`),
	}
}

func (s *storeSuite) fullRecordRoundTrips(t *testing.T) {
	rec := FullRecord("web")
	rec.Version = s.save(t, rec)
	s.check(t, rec)

	// And an update of it, with the optional parts gone again.
	rec.State, rec.Unfinished, rec.Lease = nil, false, driver.Lease{}
	rec.Version = s.save(t, rec)
	s.check(t, rec)
}

func (s *storeSuite) keepsItsOwnCopy(t *testing.T) {
	rec := FullRecord("web")
	want := rec.Clone()
	want.Version = s.save(t, rec)
	rec.State[2] = 'X'
	rec.Lease.Owner = "changed"
	s.check(t, want)

	got := s.load(t, "web")
	got.State[0] = ' '
	s.check(t, want)
}

func (s *storeSuite) concurrentCompareAndSwap(t *testing.T) {
	const (
		workers = 8
		each    = 25
		// maxTries bounds a worker's attempts, so a store that never lets a
		// Save through fails the test instead of hanging it.
		maxTries = workers * each * 20
	)
	s.save(t, driver.Record{Service: "web", State: counterState(0)})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for done, tries := 0, 0; done < each; tries++ {
				if tries == maxTries {
					t.Errorf("worker %d: %d increments after %d tries", w, done, tries)
					return
				}
				rec, err := s.s.Load(s.ctx, "web")
				if err != nil {
					t.Errorf("worker %d: Load: %v", w, err)
					return
				}
				n, ok := counterOf(rec)
				if !ok {
					t.Errorf("worker %d: Load returned state %q, not the counter that was saved", w, rec.State)
					return
				}
				rec.State = counterState(n + 1)
				// Let the other workers run between this Load and Save, so
				// a store without a real compare-and-swap loses updates.
				runtime.Gosched()
				if _, err := s.s.Save(s.ctx, rec); errors.Is(err, bluegreen.ErrConflict) {
					continue
				} else if err != nil {
					t.Errorf("worker %d: Save: %v", w, err)
					return
				}
				done++
			}
		})
	}
	wg.Wait()
	switch n, ok := counterOf(s.load(t, "web")); {
	case !ok:
		t.Error("the counter's record lost its state")
	case n != workers*each:
		t.Errorf("after %d increments by compare-and-swap the counter is %d: lost updates", workers*each, n)
	}
}

func counterState(n int) json.RawMessage { return json.RawMessage(fmt.Sprintf(`{"counter":%d}`, n)) }

func counterOf(rec driver.Record) (int, bool) {
	var c struct{ Counter *int }
	if json.Unmarshal(rec.State, &c) != nil || c.Counter == nil {
		return 0, false
	}
	return *c.Counter, true
}

// listsUnfinished checks a store that implements driver.Lister: it names
// exactly the services whose record is Unfinished, as they change, and
// whatever it says of a lease is the record's.
func (s *storeSuite) listsUnfinished(t *testing.T) {
	l, ok := s.s.(driver.Lister)
	if !ok {
		t.Skip("the store does not implement driver.Lister")
	}
	recs := map[string]driver.Record{}
	list := func() []string {
		t.Helper()
		listed, err := l.Unfinished(s.ctx)
		if err != nil {
			t.Fatalf("Unfinished: %v", err)
		}
		var names []string
		for _, e := range listed {
			names = append(names, e.Service)
			want := recs[e.Service].Lease
			switch {
			case e.Lease.Owner != "" && (e.Lease.Owner != want.Owner || e.Lease.Heartbeat != want.Heartbeat):
				t.Errorf("Unfinished lists %s with lease %+v, but its record's is %+v", e.Service, e.Lease, want)
			case e.Lease.Owner == "" && e.Lease != (driver.Lease{}):
				t.Errorf("Unfinished lists %s with lease %+v: a lease without an owner", e.Service, e.Lease)
			case !e.Lease.Expires.IsZero() && !e.Lease.Expires.Equal(want.Expires):
				t.Errorf("Unfinished lists %s with its lease expiring %v, but its record's expires %v", e.Service, e.Lease.Expires, want.Expires)
			}
		}
		slices.Sort(names)
		return names
	}
	if got := list(); len(got) != 0 {
		t.Errorf("Unfinished of an empty store = %q, want none", got)
	}
	for _, name := range []string{"api", "web", "worker"} {
		rec := driver.Record{Service: name, Unfinished: name != "api"}
		if name == "worker" {
			rec.Lease = driver.Lease{Owner: "replica-1", Expires: time.UnixMilli(1_700_000_000_000).UTC(), Heartbeat: true}
		}
		rec.Version = s.save(t, rec)
		recs[name] = rec
	}
	if diff := gocmp.Diff([]string{"web", "worker"}, list()); diff != "" {
		t.Errorf("Unfinished (-want +got):\n%s", diff)
	}
	web := recs["web"]
	web.Unfinished = false
	s.save(t, web)
	if diff := gocmp.Diff([]string{"worker"}, list()); diff != "" {
		t.Errorf("Unfinished after web finished (-want +got):\n%s", diff)
	}
}

func (s *storeSuite) canceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(s.ctx)
	cancel()
	if _, err := s.s.Load(ctx, "web"); err == nil {
		t.Error("Load with a canceled context succeeded, want an error")
	}
	if _, err := s.s.Save(ctx, driver.Record{Service: "web"}); err == nil {
		t.Error("Save with a canceled context succeeded, want an error")
	}
	s.check(t, driver.Record{Service: "web"})
}

func (s *storeSuite) servicesAreIndependent(t *testing.T) {
	web := driver.Record{Service: "web", Lease: driver.Lease{Owner: "a"}}
	web.Version = s.save(t, web)
	s.check(t, driver.Record{Service: "api"})
	api := driver.Record{Service: "api", Lease: driver.Lease{Owner: "b"}}
	if api.Version = s.save(t, api); api.Version != 1 {
		t.Errorf("first Save of api returned version %d, want 1", api.Version)
	}
	s.check(t, web)
	s.check(t, api)
}

func (s *storeSuite) deletesAtItsVersion(t *testing.T) {
	d, ok := s.s.(driver.Deleter)
	if !ok {
		t.Skip("the store does not implement driver.Deleter")
	}
	rec := driver.Record{Service: "replica:a", Lease: driver.Lease{Owner: "a", Expires: time.UnixMilli(1_700_000_000_000)}}
	v1 := s.save(t, rec)
	rec.Version = v1
	rec.Version = s.save(t, rec)
	other := driver.Record{Service: "web"}
	other.Version = s.save(t, other)

	for _, bad := range []struct {
		version  int64
		conflict bool
	}{{v1, true}, {rec.Version + 1, true}, {0, false}, {-1, false}} {
		err := d.Delete(s.ctx, rec.Service, bad.version)
		if err == nil {
			t.Fatalf("Delete at version %d of a record at version %d succeeded", bad.version, rec.Version)
		}
		if got := bluegreen.ErrorCode(err) == bluegreen.CodeConflict; got != bad.conflict {
			t.Errorf("Delete at version %d: %v; conflict = %v, want %v", bad.version, err, got, bad.conflict)
		}
		s.check(t, rec)
	}
	if err := d.Delete(s.ctx, rec.Service, rec.Version); err != nil {
		t.Fatalf("Delete at the stored version: %v", err)
	}
	s.check(t, driver.Record{Service: rec.Service})
	s.check(t, other)
	if err := d.Delete(s.ctx, rec.Service, rec.Version); bluegreen.ErrorCode(err) != bluegreen.CodeConflict {
		t.Errorf("Delete of a record that is gone: %v, want a conflict", err)
	}
	again := driver.Record{Service: rec.Service, Lease: driver.Lease{Owner: "b", Expires: time.UnixMilli(1_700_000_060_000)}}
	if v := s.save(t, again); v < 1 {
		t.Errorf("Save of a removed record from version 0 returned version %d", v)
	} else {
		again.Version = v
		s.check(t, again)
	}
}
