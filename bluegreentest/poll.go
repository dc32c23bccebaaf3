package bluegreentest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Defaults of the suites' waits, for harnesses that leave them zero. Real
// backends need seconds; the fakes are ready at once.
const (
	defaultTimeout  = 30 * time.Second
	defaultInterval = 50 * time.Millisecond
)

// errNotYet is what poll returns when the deadline passed first.
var errNotYet = errors.New("condition not met before the deadline")

// poll calls check until it reports done, returns an error, or timeout
// passes, waiting interval between calls; the first call is immediate. It
// never sleeps a fixed time when the condition already holds.
func poll(ctx context.Context, timeout, interval time.Duration, check func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(timeout, defaultTimeout))
	defer cancel()
	tick := time.NewTicker(cmp.Or(interval, defaultInterval))
	defer tick.Stop()
	for {
		done, err := check(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return err
		case done:
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %w)", errNotYet, err)
			}
			return errNotYet
		case <-tick.C:
		}
	}
}

// equateJSON compares JSON documents by value, not by bytes: stores and
// transports may re-encode them (json.Marshal compacts a RawMessage, say).
var equateJSON = gocmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return string(a) == string(b)
	}
	return gocmp.Equal(va, vb)
})

// timePrecision is the precision the suites demand of time values a backend
// keeps: at least the millisecond.
const timePrecision = time.Millisecond

// equateTimes compares times to within timePrecision, in any location.
var equateTimes = cmpopts.EquateApproxTime(timePrecision)
