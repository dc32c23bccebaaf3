package bluegreen

import (
	"context"
	"fmt"
	"sync"

	"github.com/bluegreen-go/bluegreen/driver"
)

// MemoryStore is a Store that keeps records in memory, for a single process
// and for tests. Records are deep-copied in and out, so callers never share
// state with the store. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]driver.Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{records: map[string]driver.Record{}} }

// Load returns the record of service, or driver.Record{Service: service} if there is none.
func (s *MemoryStore) Load(ctx context.Context, service string) (driver.Record, error) {
	if err := ctx.Err(); err != nil {
		return driver.Record{}, err
	}
	s.mu.Lock()
	rec, ok := s.records[service]
	s.mu.Unlock()
	if !ok {
		return driver.Record{Service: service}, nil
	}
	return rec.Clone(), nil
}

// Save writes rec if the stored version is still rec.Version.
func (s *MemoryStore) Save(ctx context.Context, rec driver.Record) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if rec.Service == "" {
		return 0, NewError(CodeInvalid, fmt.Errorf("memory store: record has no service"))
	}
	rec = rec.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.records[rec.Service].Version
	if cur != rec.Version {
		return 0, NewError(CodeConflict, fmt.Errorf("memory store: %s is at version %d, not %d", rec.Service, cur, rec.Version))
	}
	rec.Version = cur + 1
	s.records[rec.Service] = rec
	return rec.Version, nil
}

// Delete removes the record of service if the stored version is still
// version (driver.Deleter).
func (s *MemoryStore) Delete(ctx context.Context, service string, version int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if version < 1 {
		return NewError(CodeInvalid, &ConfigError{Field: "version", Problem: fmt.Sprintf("%d is not a stored version", version),
			Fix: "pass the version Save returned"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.records[service].Version
	if cur != version {
		return NewError(CodeConflict, fmt.Errorf("memory store: %s is at version %d, not %d", service, cur, version))
	}
	delete(s.records, service)
	return nil
}

// Unfinished returns the services whose record says a deployment is in
// flight or was left unfinished (driver.Lister).
func (s *MemoryStore) Unfinished(ctx context.Context) ([]driver.Listed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []driver.Listed
	for name, rec := range s.records {
		if rec.Unfinished {
			out = append(out, driver.Listed{Service: name, Lease: rec.Lease})
		}
	}
	return out, nil
}
