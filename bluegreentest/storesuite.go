package bluegreentest

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
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
//   - A Record with every field set comes back from Load as saved. JSON
//     (Revision.Spec, Prepared) is compared by value, not by bytes; times by
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

func (s *storeSuite) load(t *testing.T, service string) bluegreen.Record {
	t.Helper()
	rec, err := s.s.Load(s.ctx, service)
	if err != nil {
		t.Fatalf("Load(%s): %v", service, err)
	}
	return rec
}

func (s *storeSuite) save(t *testing.T, rec bluegreen.Record) int64 {
	t.Helper()
	v, err := s.s.Save(s.ctx, rec)
	if err != nil {
		t.Fatalf("Save(%s, version %d): %v", rec.Service, rec.Version, err)
	}
	return v
}

// check fails the test unless service's stored record is want.
func (s *storeSuite) check(t *testing.T, want bluegreen.Record) {
	t.Helper()
	if diff := gocmp.Diff(want, s.load(t, want.Service), recordOpts); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", want.Service, diff)
	}
}

func (s *storeSuite) loadAbsent(t *testing.T) {
	s.check(t, bluegreen.Record{Service: "web"})
}

func (s *storeSuite) saveCreatesAndUpdates(t *testing.T) {
	rec := bluegreen.Record{Service: "web", Lease: bluegreen.Lease{Owner: "a", Expires: time.UnixMilli(1_700_000_000_000)}}
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
	rec := bluegreen.Record{Service: "web", Lease: bluegreen.Lease{Owner: "first"}}
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
			bad := bluegreen.Record{Service: "web", Version: tc.version, Lease: bluegreen.Lease{Owner: "intruder"}}
			v, err := s.s.Save(s.ctx, bad)
			if !errors.Is(err, bluegreen.ErrConflict) {
				t.Errorf("Save(version %d) with version %d stored = %d, %v; want an error matching bluegreen.ErrConflict", tc.version, rec.Version, v, err)
			}
			s.check(t, rec)
		})
	}
}

// FullRecord returns a Record of service with every field set, down to
// every field of its DeploymentState, with times that have sub-millisecond
// parts (a store must keep their milliseconds). Version is 0, ready for a
// first Save. TestStore round-trips it; other tests of stores may use it.
func FullRecord(service string) bluegreen.Record {
	started := time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)
	blue := bluegreen.Environment{Service: service, Slot: bluegreen.SlotA, DeploymentID: "d-blue",
		Revision: bluegreen.Revision{Name: service + ":41", Spec: json.RawMessage(`{"image":"web:41","env":{"A":"1"}}`)}}
	green := bluegreen.Environment{Service: service, Slot: bluegreen.SlotB, DeploymentID: "d-green",
		Revision: bluegreen.Revision{Name: service + ":42", Spec: json.RawMessage(`{"image":"web:42","ports":[8080,8081]}`)}}
	live := blue
	return bluegreen.Record{
		Service: service,
		Lease:   bluegreen.Lease{Owner: "host-1/pid-42/abc123", Expires: started.Add(time.Minute + 7*time.Millisecond)},
		Live:    &live,
		Deployment: &bluegreen.DeploymentState{
			ID:     "d-green",
			Phase:  bluegreen.PhaseRollingBack,
			Stage:  bluegreen.StageProductionTrafficShift,
			Step:   2,
			Blue:   &blue,
			Green:  green,
			Routes: bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB},
			Steps: []bluegreen.Step{
				{Green: 1, Wait: 5 * time.Minute},
				{Green: 500, Wait: 90 * time.Second},
				{Green: bluegreen.Full},
			},
			BakeTime:  10 * time.Minute,
			ShiftDone: true,
			Rollback: &bluegreen.RollbackInfo{
				Trigger: bluegreen.TriggerMonitor, By: "green-5xx-rate", Reason: "5xx rate 7.5% over 5%",
				Stage: bluegreen.StageProductionTrafficShift, Step: 2, At: started.Add(7*time.Minute + 123_456_789),
			},
			Prepared: json.RawMessage(`{"scalableTargets":[{"id":"service/c/web","suspended":true}]}`),
			Restored: true,
			Started:  started,
			Updated:  started.Add(8*time.Minute + 987_654_321),
		},
	}
}

func (s *storeSuite) fullRecordRoundTrips(t *testing.T) {
	rec := FullRecord("web")
	rec.Version = s.save(t, rec)
	s.check(t, rec)

	// And an update of it, with the optional parts gone again.
	rec.Live, rec.Deployment, rec.Lease = nil, nil, bluegreen.Lease{}
	rec.Version = s.save(t, rec)
	s.check(t, rec)
}

func (s *storeSuite) keepsItsOwnCopy(t *testing.T) {
	rec := FullRecord("web")
	want := rec.Clone()
	want.Version = s.save(t, rec)
	rec.Live.Revision.Name = "changed"
	rec.Deployment.Steps[0].Green = 7
	rec.Deployment.Prepared[2] = 'X'
	s.check(t, want)

	got := s.load(t, "web")
	got.Deployment.Blue.Slot = bluegreen.SlotB
	got.Deployment.Green.Revision.Spec[0] = ' '
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
	s.save(t, bluegreen.Record{Service: "web", Deployment: &bluegreen.DeploymentState{ID: "counter"}})
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
				if rec.Deployment == nil {
					t.Errorf("worker %d: Load returned no Deployment, which was saved", w)
					return
				}
				rec.Deployment.Step++
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
	switch rec := s.load(t, "web"); {
	case rec.Deployment == nil:
		t.Error("the counter's record lost its Deployment")
	case rec.Deployment.Step != workers*each:
		t.Errorf("after %d increments by compare-and-swap the counter is %d: lost updates", workers*each, rec.Deployment.Step)
	}
}

func (s *storeSuite) canceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(s.ctx)
	cancel()
	if _, err := s.s.Load(ctx, "web"); err == nil {
		t.Error("Load with a canceled context succeeded, want an error")
	}
	if _, err := s.s.Save(ctx, bluegreen.Record{Service: "web"}); err == nil {
		t.Error("Save with a canceled context succeeded, want an error")
	}
	s.check(t, bluegreen.Record{Service: "web"})
}

func (s *storeSuite) servicesAreIndependent(t *testing.T) {
	web := bluegreen.Record{Service: "web", Lease: bluegreen.Lease{Owner: "a"}}
	web.Version = s.save(t, web)
	s.check(t, bluegreen.Record{Service: "api"})
	api := bluegreen.Record{Service: "api", Lease: bluegreen.Lease{Owner: "b"}}
	if api.Version = s.save(t, api); api.Version != 1 {
		t.Errorf("first Save of api returned version %d, want 1", api.Version)
	}
	s.check(t, web)
	s.check(t, api)
}
