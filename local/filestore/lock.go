package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
//
// Delete removes the lock file while holding its lock, so a locker that
// opened the file before that ends up locking a file no longer at the path,
// while a newcomer creates and locks a fresh one. Both would think they hold
// the lock; so once locked, lock checks that the path still names the file
// it locked, and if not starts again from the open. A file is only removed
// by the holder of its lock, so a file found at the path after locking it
// stays there until released.
func (s *Store) lock(ctx context.Context, service string) (unlock func(), err error) {
	path := s.lockPath(service)
	for {
		f, err := s.openLocked(ctx, path)
		if err != nil {
			return nil, err
		}
		same, err := stillAt(f, path)
		if err != nil {
			unlockFile(f)
			_ = f.Close()
			return nil, fmt.Errorf("filestore: checking lock file %s: %w", path, err)
		}
		if same {
			return func() {
				// Closing the file releases the lock too; unlocking first
				// makes the release independent of other descriptors.
				unlockFile(f)
				_ = f.Close()
			}, nil
		}
		// Whoever removed the file released it before we got it, so the
		// fresh file is worth trying at once.
		unlockFile(f)
		_ = f.Close()
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("filestore: waiting for the lock on %s: %w", path, err)
		}
	}
}

// openLocked opens (creating it if need be) the lock file at path and waits
// until it holds its lock or ctx ends.
func (s *Store) openLocked(ctx context.Context, path string) (*os.File, error) {
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
			return f, nil
		}
		if s.lockBusy != nil {
			s.lockBusy(f)
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

// stillAt reports whether path names the open file f: false if the path
// was removed, or replaced by another file, since f was opened.
func stillAt(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	named, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, named), nil
}
