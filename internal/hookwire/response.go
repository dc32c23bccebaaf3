package hookwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Response is what a hook function answers: the shape ECS reads.
type Response struct {
	// HookStatus is "SUCCEEDED", "FAILED" or "IN_PROGRESS".
	HookStatus string `json:"hookStatus"`
	// CallBackDelay is the number of seconds to wait before the next call
	// after IN_PROGRESS; 0 for the default of 30.
	CallBackDelay int `json:"callBackDelay,omitempty"`
	// HookDetails are handed back on the next call: a JSON object.
	HookDetails json.RawMessage `json:"hookDetails,omitempty"`
}

// MaxCallBackDelay is the longest callBackDelay accepted: a day, the longest
// hook timeout ECS allows. A longer one is malformed.
const MaxCallBackDelay = 24 * time.Hour

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
func ParseResponse(b []byte) (bluegreen.HookResult, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return bluegreen.HookResult{}, fmt.Errorf("response %s is not a JSON object", preview(b))
	}
	raw, ok := fields["hookStatus"]
	if !ok {
		return bluegreen.HookResult{}, errors.New(`response has no "hookStatus"; want SUCCEEDED, FAILED or IN_PROGRESS`)
	}
	var status string
	if err := json.Unmarshal(raw, &status); err != nil {
		return bluegreen.HookResult{}, fmt.Errorf(`"hookStatus" is %s, not a string; want SUCCEEDED, FAILED or IN_PROGRESS`, preview(raw))
	}
	parsed, err := bluegreen.ParseHookStatus(status)
	if err != nil {
		return bluegreen.HookResult{}, fmt.Errorf(`"hookStatus" is %s; want SUCCEEDED, FAILED or IN_PROGRESS`, preview(raw))
	}
	res := bluegreen.HookResult{Status: parsed}
	if raw, ok := fields["callBackDelay"]; ok && !isNull(raw) {
		var secs float64
		if err := json.Unmarshal(raw, &secs); err != nil {
			return bluegreen.HookResult{}, fmt.Errorf(`"callBackDelay" is %s, not a number of seconds`, preview(raw))
		}
		if secs < 0 || math.IsNaN(secs) || secs > MaxCallBackDelay.Seconds() {
			return bluegreen.HookResult{}, fmt.Errorf(`"callBackDelay" is %s; want seconds between 0 and %d`, preview(raw), int(MaxCallBackDelay.Seconds()))
		}
		res.CallbackDelay = time.Duration(math.Round(secs*1000)) * time.Millisecond
	}
	if raw, ok := fields["hookDetails"]; ok && !isNull(raw) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return bluegreen.HookResult{}, fmt.Errorf(`"hookDetails" is not a JSON object`)
		}
		res.Details = append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	}
	return res, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// preview quotes the start of b for an error message. Hook details are not
// quoted anywhere, since they may hold secrets.
func preview(b []byte) string {
	const limit = 64
	b = bytes.TrimSpace(b)
	if len(b) > limit {
		return fmt.Sprintf("%q…", b[:limit])
	}
	return fmt.Sprintf("%q", b)
}
