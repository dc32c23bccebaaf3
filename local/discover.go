package local

import (
	"bytes"
	"context"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/svcname"
)

var _ bluegreen.Discoverer = (*Compute)(nil)

// Discover returns the environments of service that run now, slot A's
// first: those this Compute started and, in detached mode
// (Options.StateDir), those an earlier Compute recorded there, which it
// adopts as Status does. Each Found.Environment is the one ScaleUp was
// given (its revision's Spec included), so Status and ScaleDown with it act
// on the environment found, whichever Compute started it.
//
// Found.Status is what Status would report, but Discover hands no
// addresses to Options.Targets: it only looks. An environment whose
// recorded processes are gone is returned too, with Running 0, Failed set
// and a Reason naming each instance's pid and log, until ScaleDown removes
// its record. A starting environment reports Reason "starting", one being
// scaled down "stopping". Primary is never set: the local backend has no
// notion of a service's current environment.
//
// A state file that cannot be read fails Discover with an error naming
// it, rather than leaving out what it may record.
func (c *Compute) Discover(ctx context.Context, service string) ([]bluegreen.Found, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := svcname.Check(service); err != nil {
		return nil, invalid("service", err.Error(), svcname.Fix)
	}
	var found []bluegreen.Found
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		e, err := c.lookup(envKey{service, slot})
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		st, exists, err := c.status(ctx, e, false)
		if err != nil {
			return nil, err
		}
		if !exists {
			continue
		}
		env := e.env
		env.Revision.Spec = bytes.Clone(env.Revision.Spec) // the caller's to change
		found = append(found, bluegreen.Found{Environment: env, Status: st})
	}
	return found, nil
}
