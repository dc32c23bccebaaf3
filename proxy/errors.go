package proxy

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// fieldError reports bad input as a *bluegreen.ConfigError, so that
// errors.Is(err, bluegreen.ErrInvalid) holds and the message names the field
// and the fix.
func fieldError(field, problem, fix string) error { return check.FieldError(field, problem, fix) }

// checkServiceName rejects names that cannot be a service (see
// check.ServiceName).
func checkServiceName(field, name string) error { return check.ServiceName(field, name) }

// checkSlot rejects anything but slot A or B.
func checkSlot(field string, s bluegreen.Slot) error { return check.Slot(field, s) }

// slotIndex maps a valid slot to 0 (A) or 1 (B).
func slotIndex(s bluegreen.Slot) int {
	if s == bluegreen.SlotB {
		return 1
	}
	return 0
}

var slots = [2]bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB}
