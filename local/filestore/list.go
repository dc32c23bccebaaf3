package filestore

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/bluegreen-go/bluegreen/internal/svcname"
)

// Unfinished returns the services whose state file says a deployment is in
// flight or was left unfinished (driver.Lister), for a Deployer that adopts
// deployments whose owner died. It reads the directory and each state file;
// a state file that cannot be read is reported as an error naming it rather
// than skipped, since it may hold an unfinished deployment.
func (s *Store) Unfinished(ctx context.Context) ([]driver.Listed, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: list %s: %w", s.dir, err)
	}
	var out []driver.Listed
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		service, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() || svcname.Check(service) != nil {
			continue
		}
		// A state file removed since the directory was read reads as no
		// record, which is not unfinished: a Delete is no error here.
		rec, err := s.read(service)
		if err != nil {
			return nil, err
		}
		if rec.Unfinished {
			out = append(out, driver.Listed{Service: service, Lease: rec.Lease})
		}
	}
	return out, nil
}
