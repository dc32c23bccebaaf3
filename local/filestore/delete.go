package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bluegreen-go/bluegreen"
)

// Delete removes the record of service if its stored version is still
// version (at least 1), along with its lock file, so that a service that
// comes and goes leaves no file behind (driver.Deleter). If the stored
// version differs, or there is no record, it removes no record and returns
// an error with code bluegreen.CodeConflict. If the state file is corrupt,
// it removes nothing and returns the *CorruptError.
//
// On Windows the lock file stays: it cannot be removed while open, and
// Delete holds it open to keep the lock.
func (s *Store) Delete(ctx context.Context, service string, version int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkService(service); err != nil {
		return err
	}
	if version < 1 {
		return bluegreen.NewError(bluegreen.CodeInvalid, &bluegreen.ConfigError{
			Field: "version", Problem: fmt.Sprintf("%d is not a stored version", version),
			Fix: "pass the version Save returned",
		})
	}
	unlock, err := s.lock(ctx, service)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := s.read(service)
	if err != nil {
		return err
	}
	if cur.Version != version {
		if cur.Version == 0 {
			// Taking the lock created the lock file of a service that has
			// no record; leave nothing behind for it either.
			_ = os.Remove(s.lockPath(service))
		}
		return bluegreen.NewError(bluegreen.CodeConflict,
			fmt.Errorf("filestore: %s is at version %d, not %d", service, cur.Version, version))
	}
	// A Save killed before its rename leaves its temporary file; it would
	// otherwise stay until the service is saved again, which may be never.
	if err := os.Remove(s.tmpPath(service)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: removing %s: %w", s.tmpPath(service), err)
	}
	path := s.path(service)
	if err := removeFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: removing state file %s: %w", path, err)
	}
	// Without this the removal may be lost in a power failure, and the
	// record would come back.
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("filestore: %s was removed but syncing %s failed, so the removal may not survive a power loss: %w",
			path, s.dir, err)
	}
	// Removing the lock file is the last thing done under the lock: from
	// here a newcomer may create and lock a fresh one, and lock makes
	// anyone waiting on this one move to it. A failure leaves a file that
	// does no harm, and the record is gone either way.
	_ = os.Remove(s.lockPath(service))
	return nil
}
