package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fullRecord returns a record with every part set, so round trips cover them all.
func fullRecord(service string) driver.Record { return bluegreentest.FullRecord(service) }

// TestReadsFormatV1 reads a state file written before the Deployer's state
// became opaque to stores: the record's live environment and deployment
// become the state document, and an unfinished deployment is flagged.
func TestReadsFormatV1(t *testing.T) {
	v1 := `{"format":"bluegreen-filestore/1","record":{"service":"web","version":7,"lease":{"owner":"h/1","expires":"2025-03-01T12:01:00Z"},` +
		`"live":{"service":"web","slot":"A","revision":{"name":"web:1"},"deploymentId":"d1"},` +
		`"deployment":{"id":"d2","phase":"RUNNING","stage":"BAKE_TIME","green":{"service":"web","slot":"B","revision":{"name":"web:2"},"deploymentId":"d2"},"routes":{"production":{"a":0,"b":1000},"test":"B"},"started":"2025-03-01T12:00:00Z","updated":"2025-03-01T12:00:30Z"}}}`
	rec, err := decodeRecord("web", []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	want := driver.Record{Service: "web", Version: 7, Unfinished: true,
		Lease: driver.Lease{Owner: "h/1", Expires: time.Date(2025, 3, 1, 12, 1, 0, 0, time.UTC)}}
	got := rec
	got.State = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	s := newStore(t)
	if err := os.WriteFile(s.path("web"), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := bluegreen.ReadState(t.Context(), s, "web")
	if err != nil {
		t.Fatal(err)
	}
	if st.Live == nil || st.Live.Revision.Name != "web:1" || st.Deployment == nil || st.Deployment.ID != "d2" || st.Deployment.Finished || st.Deployment.Stage != bluegreen.StageBakeTime {
		t.Errorf("state of a v1 file = %+v", st)
	}
}

func TestLoadMissing(t *testing.T) {
	s := newStore(t)
	got, err := s.Load(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(driver.Record{Service: "web"}, got); diff != "" {
		t.Errorf("Load of a service without state (-want +got):\n%s", diff)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	want := fullRecord("web")
	v, err := s.Save(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if v != 1 {
		t.Errorf("first Save returned version %d, want 1", v)
	}
	want.Version = 1
	got, err := s.Load(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load after Save (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), "web.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("state file mode %v, want 0600: it may hold hook state", perm)
	}
}

func TestSaveVersions(t *testing.T) {
	tests := []struct {
		name     string
		stored   int   // number of Saves before the one under test
		version  int64 // version passed to the Save under test
		wantCode bluegreen.Code
		wantVer  int64
	}{
		{name: "create", stored: 0, version: 0, wantVer: 1},
		{name: "update", stored: 2, version: 2, wantVer: 3},
		{name: "create over existing", stored: 1, version: 0, wantCode: bluegreen.CodeConflict},
		{name: "stale", stored: 3, version: 2, wantCode: bluegreen.CodeConflict},
		{name: "ahead", stored: 1, version: 5, wantCode: bluegreen.CodeConflict},
		{name: "ahead of nothing", stored: 0, version: 1, wantCode: bluegreen.CodeConflict},
		{name: "negative", stored: 0, version: -1, wantCode: bluegreen.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			for i := range tt.stored {
				if _, err := s.Save(ctx, driver.Record{Service: "web", Version: int64(i)}); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(filepath.Join(s.Dir(), "web.json"))
			v, err := s.Save(ctx, driver.Record{Service: "web", Version: tt.version,
				Lease: driver.Lease{Owner: "me"}})
			if tt.wantCode != bluegreen.CodeUnknown {
				if code := bluegreen.ErrorCode(err); code != tt.wantCode {
					t.Fatalf("Save = %d, %v; want code %v", v, err, tt.wantCode)
				}
				after, _ := os.ReadFile(filepath.Join(s.Dir(), "web.json"))
				if diff := cmp.Diff(string(before), string(after)); diff != "" {
					t.Errorf("a failed Save changed the state file (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil || v != tt.wantVer {
				t.Fatalf("Save = %d, %v; want %d", v, err, tt.wantVer)
			}
			got, err := s.Load(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			want := driver.Record{Service: "web", Version: tt.wantVer, Lease: driver.Lease{Owner: "me"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load after Save (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentIncrements races goroutines, each with its own Store on one
// directory, doing read-modify-write increments: none may be lost.
func TestConcurrentIncrements(t *testing.T) {
	dir := t.TempDir()
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		s, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs <- increment(t.Context(), s, "counter", each) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkCounter(t, dir, "counter", workers*each)
}

// increment adds one to the record's counter (a number in its State) n
// times, retrying on conflict as the Deployer does.
func increment(ctx context.Context, s *Store, service string, n int) error {
	for done := 0; done < n; {
		rec, err := s.Load(ctx, service)
		if err != nil {
			return err
		}
		var c struct{ Counter int }
		if len(rec.State) > 0 {
			if err := json.Unmarshal(rec.State, &c); err != nil {
				return err
			}
		}
		c.Counter++
		if rec.State, err = json.Marshal(c); err != nil {
			return err
		}
		if _, err := s.Save(ctx, rec); errors.Is(err, bluegreen.ErrConflict) {
			continue
		} else if err != nil {
			return err
		}
		done++
	}
	return nil
}

func checkCounter(t *testing.T, dir, service string, want int) {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Load(t.Context(), service)
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Counter int }
	if err := json.Unmarshal(rec.State, &c); err != nil || c.Counter != want || rec.Version != int64(want) {
		t.Errorf("after %d increments: version %d, state %s; want both %d (an update was lost)",
			want, rec.Version, rec.State, want)
	}
}

func TestServiceNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"web", true},
		{"web-1_api.v2:prod", true},
		{"ünïcode", true},
		{"with space", true},
		{strings.Repeat("x", 200), true},
		{"", false},
		{".", false},
		{"..", false},
		{"../evil", false},
		{"a/b", false},
		{"/etc/passwd", false},
		{`..\evil`, false},
		{"a\x00b", false},
		{"line\nbreak", false},
		{".hidden", false},
		{"\xff\xfe", false},
		{strings.Repeat("x", 201), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.name), func(t *testing.T) {
			root := t.TempDir()
			s, err := Open(filepath.Join(root, "state"), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			_, loadErr := s.Load(ctx, tt.name)
			_, qErr := s.Quarantine(ctx, tt.name)
			_, saveErr := s.Save(ctx, driver.Record{Service: tt.name})
			_, pathErr := s.Path(tt.name)
			for op, err := range map[string]error{"Load": loadErr, "Save": saveErr, "Quarantine": qErr, "Path": pathErr} {
				if tt.ok && err != nil {
					t.Errorf("%s(%q) = %v, want success", op, tt.name, err)
				}
				if !tt.ok && !errors.Is(err, bluegreen.ErrInvalid) {
					t.Errorf("%s(%q) = %v, want an ErrInvalid error", op, tt.name, err)
				}
				var ce *bluegreen.ConfigError
				if !tt.ok && (!errors.As(err, &ce) || ce.Field != "service" || ce.Fix == "") {
					t.Errorf("%s(%q) = %v, want a ConfigError naming the service field and a fix", op, tt.name, err)
				}
			}
			// Nothing may appear outside the state directory.
			entries, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "state" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("files outside the state directory: %q", names)
			}
		})
	}
}

func TestList(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, name := range []string{"web", "api", "worker"} {
		if _, err := s.Save(ctx, driver.Record{Service: name}); err != nil {
			t.Fatal(err)
		}
	}
	// Lock, temporary and quarantined files are not services.
	for _, name := range []string{"web.json.corrupt-20250101T000000.000Z", ".web.json.tmp", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"api", "web", "worker"}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// TestSaveWaitsForLock shows that Save waits for the per-service lock, gives
// up when its context ends, and goes ahead once the lock is free.
func TestSaveWaitsForLock(t *testing.T) {
	s := newStore(t)
	unlock, err := s.lock(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Save(ctx, driver.Record{Service: "web"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Save while another holds the lock = %v, want a deadline error", err)
	}
	// Another service's lock is independent.
	if _, err := s.Save(t.Context(), driver.Record{Service: "api"}); err != nil {
		t.Fatalf("Save of another service while web is locked: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Save(t.Context(), driver.Record{Service: "web"})
		done <- err
	}()
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Save after the lock was released: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Save did not proceed after the lock was released")
	}
}

func TestCanceledContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Load(ctx, "web"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load = %v, want context.Canceled", err)
	}
	if _, err := s.Save(ctx, driver.Record{Service: "web"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Save = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "web.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a canceled Save wrote the state file (stat: %v)", err)
	}
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file} {
		if _, err := Open(dir, nil); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", dir, err)
		}
	}
}

// TestSaveTooLarge: a record Load would refuse as too large is not written.
func TestSaveTooLarge(t *testing.T) {
	s := newStore(t)
	rec := fullRecord("web")
	rec.State = json.RawMessage(`"` + strings.Repeat("x", maxFileSize) + `"`)
	if _, err := s.Save(t.Context(), rec); !errors.Is(err, bluegreen.ErrInvalid) || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("Save of a %d-byte record = %v, want ErrInvalid naming the size", maxFileSize, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "web.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the oversized record was written (stat: %v)", err)
	}
}
