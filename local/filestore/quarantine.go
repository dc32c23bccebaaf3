package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/bluegreen-go/bluegreen"
)

// Quarantine moves the corrupt state file of service aside, renaming it to
// <service>.json.corrupt-<UTC time>, and returns its new path. Afterwards
// the service has no record: Load returns version 0 and the next deployment
// starts as the first one, so check what is running (and which slot the
// router sends traffic to) before deploying again.
//
// Quarantine only moves a file that is corrupt: for a valid state file it
// returns an error with code bluegreen.CodeFailedPrecondition and changes
// nothing. If the service has no state file it returns "" and no error.
func (s *Store) Quarantine(ctx context.Context, service string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := checkService(service); err != nil {
		return "", err
	}
	unlock, err := s.lock(ctx, service)
	if err != nil {
		return "", err
	}
	defer unlock()
	rec, err := s.read(service)
	var corrupt *CorruptError
	switch {
	case errors.As(err, &corrupt):
	case err != nil:
		return "", err
	case rec.Version == 0:
		return "", nil
	default:
		return "", bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
			"filestore: state file %s is valid (version %d); refusing to move it aside", s.path(service), rec.Version))
	}
	from := s.path(service)
	base := from + ".corrupt-" + s.now().UTC().Format("20060102T150405.000Z")
	to := base
	// Never replace an earlier quarantined file: it may be the only copy of
	// what someone is trying to recover.
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return "", fmt.Errorf("filestore: quarantining %s: %w", from, err)
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(from, to); err != nil {
		return "", fmt.Errorf("filestore: quarantining %s: %w", from, err)
	}
	if err := syncDir(s.dir); err != nil {
		return "", fmt.Errorf("filestore: quarantined %s as %s but syncing %s failed: %w", from, to, s.dir, err)
	}
	s.log.Warn("state file quarantined", "service", service, "from", from, "to", to, "problem", corrupt.Err.Error())
	return to, nil
}
