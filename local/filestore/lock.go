package filestore

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Bounds of the wait between attempts to take a busy lock. A Save holds the
// lock for the time of two fsyncs, so waiters retry soon.
const (
	minLockWait = time.Millisecond
	maxLockWait = 50 * time.Millisecond
)

// lock takes the exclusive lock of service's lock file and returns the
// function that releases it. The lock (flock(2) on Unix, LockFileEx on
// Windows; see tryLock) is tried without blocking and retried with a
// growing wait, because a blocked lock call cannot be canceled and ctx
// must be.
func (s *Store) lock(ctx context.Context, service string) (unlock func(), err error) {
	path := s.lockPath(service)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: opening lock file: %w", err)
	}
	wait := minLockWait
	for {
		locked, err := tryLock(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("filestore: locking %s: %w", path, err)
		}
		if locked {
			return func() {
				// Closing the file releases the lock too; unlocking first
				// makes the release independent of other descriptors.
				unlockFile(f)
				_ = f.Close()
			}, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = f.Close()
			return nil, fmt.Errorf("filestore: waiting for the lock on %s: %w", path, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxLockWait)
	}
}
