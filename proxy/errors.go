package proxy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
)

// fieldError reports bad input as a *bluegreen.ConfigError, so that
// errors.Is(err, bluegreen.ErrInvalid) holds and the message names the field
// and the fix.
func fieldError(field, problem, fix string) error {
	return &bluegreen.ConfigError{Field: field, Problem: problem, Fix: fix}
}

// maxServiceName is the longest service name accepted, in bytes.
const maxServiceName = 200

// checkServiceName rejects names that cannot be a service: empty, too long,
// not UTF-8, or holding a slash or control character (names travel in admin
// API paths and in the state file).
func checkServiceName(field, name string) error {
	problem := ""
	switch {
	case name == "":
		problem = "empty"
	case len(name) > maxServiceName:
		problem = fmt.Sprintf("%d bytes long, more than %d", len(name), maxServiceName)
	case !utf8.ValidString(name):
		problem = fmt.Sprintf("%q is not valid UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		problem = fmt.Sprintf("%q contains a slash", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || strings.IndexFunc(name, unicode.IsSpace) >= 0:
		problem = fmt.Sprintf("%q contains a space or control character", name)
	}
	if problem != "" {
		return fieldError(field, problem, `name the service with letters, digits and "-_.:", such as "web"`)
	}
	return nil
}

// checkSlot rejects anything but slot A or B.
func checkSlot(field string, s bluegreen.Slot) error {
	if !s.Valid() {
		return fieldError(field, fmt.Sprintf("unknown slot %q", s), `use "A" or "B"`)
	}
	return nil
}

// slotIndex maps a valid slot to 0 (A) or 1 (B).
func slotIndex(s bluegreen.Slot) int {
	if s == bluegreen.SlotB {
		return 1
	}
	return 0
}

var slots = [2]bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB}
