package bluegreen

import (
	"context"
	"fmt"
	"sync"
)

// MemoryStore is a Store that keeps records in memory, for a single process
// and for tests. Records are deep-copied in and out, so callers never share
// state with the store. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{records: map[string]Record{}} }

// Load returns the record of service, or Record{Service: service} if there is none.
func (s *MemoryStore) Load(ctx context.Context, service string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	rec, ok := s.records[service]
	s.mu.Unlock()
	if !ok {
		return Record{Service: service}, nil
	}
	return rec.Clone(), nil
}

// Save writes rec if the stored version is still rec.Version.
func (s *MemoryStore) Save(ctx context.Context, rec Record) (int64, error) {
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
