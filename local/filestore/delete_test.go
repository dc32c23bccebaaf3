package filestore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

// dirFiles returns the name and content of every file in dir.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// TestDelete deletes "web" (at version 2, next to "api") in each way a
// Delete can go, and checks what is left in the directory byte for byte: a
// Delete that fails changes nothing, and one that succeeds removes the
// service's state, lock and temporary files and nothing else.
func TestDelete(t *testing.T) {
	corrupt := func(t *testing.T, s *Store) {
		if err := os.WriteFile(s.path("web"), []byte(`{"format":"bluegreen-filestore/2"`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	staleTmp := func(t *testing.T, s *Store) {
		// What a Save killed before its rename leaves behind.
		if err := os.WriteFile(s.tmpPath("web"), []byte("half a rec"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, s *Store)
		canceled bool
		service  string
		version  int64
		want     error // nil: web is removed
		corrupt  bool  // want a *CorruptError too
	}{
		{name: "at the stored version", service: "web", version: 2},
		{name: "with a stale temporary file", setup: staleTmp, service: "web", version: 2},
		{name: "stale version", service: "web", version: 1, want: bluegreen.ErrConflict},
		{name: "future version", service: "web", version: 3, want: bluegreen.ErrConflict},
		{name: "no record", service: "worker", version: 1, want: bluegreen.ErrConflict},
		{name: "version zero", service: "web", version: 0, want: bluegreen.ErrInvalid},
		{name: "negative version", service: "web", version: -1, want: bluegreen.ErrInvalid},
		{name: "invalid service", service: "../web", version: 2, want: bluegreen.ErrInvalid},
		{name: "canceled context", canceled: true, service: "web", version: 2, want: context.Canceled},
		{name: "corrupt state file", setup: corrupt, service: "web", version: 2, want: bluegreen.ErrFailedPrecondition, corrupt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			rec := driver.Record{Service: "web"}
			for range 2 {
				v, err := s.Save(ctx, rec)
				if err != nil {
					t.Fatal(err)
				}
				rec.Version = v
			}
			if _, err := s.Save(ctx, driver.Record{Service: "api"}); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, s)
			}
			before := dirFiles(t, s.Dir())
			if tt.canceled {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}

			err := s.Delete(ctx, tt.service, tt.version)

			if !errors.Is(err, tt.want) {
				t.Fatalf("Delete(%s, %d) = %v, want %v", tt.service, tt.version, err, tt.want)
			}
			if tt.corrupt {
				checkCorrupt(t, "Delete", err, s.path("web"), "not valid JSON")
			}
			want := maps.Clone(before)
			wantListed := []string{"api", "web"}
			if tt.want == nil {
				delete(want, "web.json")
				delete(want, ".web.json.tmp")
				// Windows cannot remove a file that is open, and Delete
				// holds the lock file open.
				if runtime.GOOS != "windows" {
					delete(want, "web.lock")
				}
				wantListed = []string{"api"}
			}
			if diff := cmp.Diff(want, dirFiles(t, s.Dir())); diff != "" {
				t.Errorf("files after Delete (-want +got):\n%s", diff)
			}
			listed, err := s.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantListed, listed); diff != "" {
				t.Errorf("List after Delete (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSaveAfterDelete: a deleted service starts again from version 0, with
// a new lock file, and can be deleted again.
func TestSaveAfterDelete(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for round := range 3 {
		v, err := s.Save(ctx, driver.Record{Service: "web"})
		if err != nil || v != 1 {
			t.Fatalf("round %d: Save from version 0 = %d, %v; want 1", round, v, err)
		}
		if _, err := os.Stat(s.lockPath("web")); err != nil {
			t.Fatalf("round %d: no lock file after Save: %v", round, err)
		}
		if err := s.Delete(ctx, "web", v); err != nil {
			t.Fatalf("round %d: Delete: %v", round, err)
		}
	}
}

// TestLockHandoverAfterDelete walks the race that removing a lock file
// invites. A holder removes the lock file, as Delete does, while a waiter
// has it open; a third locker then creates a fresh one and takes its lock;
// the holder releases. The waiter gets the lock of the removed file, and
// must notice that it is no longer at the path, wait on the fresh file
// instead and end up holding that one, never at the same time as the third.
func TestLockHandoverAfterDelete(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows cannot remove a lock file that is open")
	}
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	holder, waiter, third := open(), open(), open()
	path := holder.lockPath("web")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)

	// busy receives the lock file the waiter found locked, each time.
	busy := make(chan os.FileInfo)
	waiter.lockBusy = func(f *os.File) {
		fi, err := f.Stat()
		if err != nil {
			return
		}
		select {
		case busy <- fi:
		case <-ctx.Done():
		}
	}
	var inside atomic.Int32
	enter := func(who string) error {
		if n := inside.Add(1); n != 1 {
			return fmt.Errorf("%s took the lock while %d other(s) held it", who, n-1)
		}
		return nil
	}
	leave := func() { inside.Add(-1) }

	unlockHolder, err := holder.lock(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if err := enter("holder"); err != nil {
		t.Fatal(err)
	}
	old, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		unlock func()
		err    error
	}
	waited := make(chan result, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		select {
		case r := <-waited:
			if r.unlock != nil {
				r.unlock()
			}
		default:
		}
	})
	wg.Go(func() {
		unlock, err := waiter.lock(ctx, "web")
		if err == nil {
			err = enter("waiter")
		}
		waited <- result{unlock, err}
	})
	// awaitBusy returns once the waiter is found waiting on the file want,
	// and fails if the waiter takes the lock first.
	awaitBusy := func(want os.FileInfo, what string) {
		t.Helper()
		for {
			select {
			case fi := <-busy:
				if os.SameFile(fi, want) {
					return
				}
			case r := <-waited:
				waited <- r
				t.Fatalf("the waiter took the lock (error: %v) instead of waiting on %s", r.err, what)
			case <-ctx.Done():
				t.Fatalf("the waiter did not wait on %s", what)
			}
		}
	}

	awaitBusy(old, "the lock file the holder holds")
	leave()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	unlockThird, err := third.lock(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if err := enter("third"); err != nil {
		t.Fatal(err)
	}
	fresh, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(old, fresh) {
		t.Fatal("the third locker locked the removed lock file")
	}
	unlockHolder()
	awaitBusy(fresh, "the fresh lock file the third holds")
	leave()
	unlockThird()

	var r result
	select {
	case r = <-waited:
	case <-ctx.Done():
		t.Fatal("the waiter did not take the lock once the third released it")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(now, fresh) {
		t.Fatalf("the path no longer names the fresh lock file (stat: %v)", err)
	}
	if !lockedByOther(t, path) {
		t.Error("the fresh lock file is not locked while the waiter holds the lock")
	}
	leave()
	r.unlock()
	if lockedByOther(t, path) {
		t.Error("the fresh lock file is still locked after the waiter released it")
	}
}

// lockedByOther reports whether the lock of the lock file at path is held,
// by trying it through a descriptor of its own.
func lockedByOther(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	locked, err := tryLock(f)
	if err != nil {
		t.Fatal(err)
	}
	if locked {
		unlockFile(f)
	}
	return !locked
}

// TestListDuringDeletes lists the services while another goroutine saves
// and deletes one over and over: a state file removed between the reading
// of the directory and the reading of the file is no error, just absent.
func TestListDuringDeletes(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.Save(ctx, driver.Record{Service: "steady", Unfinished: true}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range 50 {
			v, err := s.Save(ctx, driver.Record{Service: "churn", Unfinished: true})
			if err == nil {
				err = s.Delete(ctx, "churn", v)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	valid := [][]string{{"steady"}, {"churn", "steady"}}
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("save and delete: %v", err)
			}
			running = false
		default:
		}
		names, err := s.List(ctx)
		if err != nil {
			t.Errorf("List: %v", err)
		} else if !slices.ContainsFunc(valid, func(v []string) bool { return slices.Equal(v, names) }) {
			t.Errorf("List = %q, want one of %q", names, valid)
		}
		listed, err := s.Unfinished(ctx)
		if err != nil {
			t.Errorf("Unfinished: %v", err)
		}
		var unfinished []string
		for _, l := range listed {
			unfinished = append(unfinished, l.Service)
		}
		slices.Sort(unfinished)
		if err == nil && !slices.ContainsFunc(valid, func(v []string) bool { return slices.Equal(v, unfinished) }) {
			t.Errorf("Unfinished = %q, want one of %q", unfinished, valid)
		}
		if t.Failed() && running {
			if err := <-done; err != nil {
				t.Errorf("save and delete: %v", err)
			}
			return
		}
	}
}
