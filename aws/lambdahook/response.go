package lambdahook

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/hookwire"
)

// Response is what a hook function answers: the shape ECS reads,
// {"hookStatus": …, "callBackDelay": seconds, "hookDetails": {…}}.
type Response = hookwire.Response

// MaxCallBackDelay is the longest callBackDelay accepted: a day, the longest
// hook timeout ECS allows. A longer one is malformed.
const MaxCallBackDelay = hookwire.MaxCallBackDelay

// ParseResponse reads a hook function's response. It accepts exactly what
// ECS accepts:
//
//   - a JSON object with hookStatus "SUCCEEDED", "FAILED" or "IN_PROGRESS"
//     (field names and values are case-sensitive);
//   - an optional callBackDelay: a number of seconds between 0 and a day
//     (fractions are kept to the millisecond);
//   - optional hookDetails: a JSON object, or null.
//
// Other fields are ignored. Anything else is an error saying what is wrong;
// the Hook turns it into a FAILED result. The returned Reason is empty.
func ParseResponse(b []byte) (bluegreen.HookResult, error) { return hookwire.ParseResponse(b) }
