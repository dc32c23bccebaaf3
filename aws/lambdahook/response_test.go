package lambdahook_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/google/go-cmp/cmp"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		in   string
		want bluegreen.HookResult
	}{
		{`{"hookStatus":"SUCCEEDED"}`, bluegreen.HookResult{Status: bluegreen.HookSucceeded}},
		{`{"hookStatus":"FAILED"}`, bluegreen.HookResult{Status: bluegreen.HookFailed}},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":60}`, bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: time.Minute}},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":1.5}`, bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 1500 * time.Millisecond}},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":0}`, bluegreen.HookResult{Status: bluegreen.HookInProgress}},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":null,"hookDetails":null}`, bluegreen.HookResult{Status: bluegreen.HookInProgress}},
		{` {"hookStatus":"IN_PROGRESS","callBackDelay":30,"hookDetails":{"approvalChecked":true,"S3_BUCKET_NAME":"b"}} `,
			bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 30 * time.Second,
				Details: json.RawMessage(`{"approvalChecked":true,"S3_BUCKET_NAME":"b"}`)}},
		{`{"hookStatus":"SUCCEEDED","message":"extra fields are ignored"}`, bluegreen.HookResult{Status: bluegreen.HookSucceeded}},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":86400}`, bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := lambdahook.ParseResponse([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResponseMalformed(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`not json`, "not a JSON object"},
		{`"SUCCEEDED"`, "not a JSON object"},
		{`[{"hookStatus":"SUCCEEDED"}]`, "not a JSON object"},
		{`{"hookStatus":"SUCCEEDED"`, "not a JSON object"},
		{`{}`, `no "hookStatus"`},
		{`{"HookStatus":"SUCCEEDED"}`, `no "hookStatus"`}, // names are case-sensitive, as in ECS
		{`{"hookStatus":"succeeded"}`, `"hookStatus" is "\"succeeded\""`},
		{`{"hookStatus":"DONE"}`, `want SUCCEEDED, FAILED or IN_PROGRESS`},
		{`{"hookStatus":true}`, "not a string"},
		{`{"hookStatus":null}`, `"hookStatus" is "null"`},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":"30"}`, "not a number of seconds"},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":-1}`, "between 0 and 86400"},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":86401}`, "between 0 and 86400"},
		{`{"hookStatus":"IN_PROGRESS","callBackDelay":1e400}`, "not a number of seconds"},
		{`{"hookStatus":"IN_PROGRESS","hookDetails":[1,2]}`, `"hookDetails" is not a JSON object`},
		{`{"hookStatus":"IN_PROGRESS","hookDetails":"{\"a\":1}"}`, `"hookDetails" is not a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := lambdahook.ParseResponse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseResponse = %+v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, seed := range []string{
		`{"hookStatus":"SUCCEEDED"}`,
		`{"hookStatus":"IN_PROGRESS","callBackDelay":60,"hookDetails":{"a":[1,{"b":null}]}}`,
		`{"hookStatus":"FAILED","callBackDelay":0.001}`,
		`{"hookStatus":"IN_PROGRESS","callBackDelay":-0}`,
		`{"hookStatus":"IN_PROGRESS","hookStatus":"FAILED"}`,
		`{"hookStatus":"\u0053UCCEEDED"}`,
		`[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := lambdahook.ParseResponse(b)
		if err != nil {
			if res.Status != "" || res.Details != nil || res.CallbackDelay != 0 {
				t.Fatalf("error %v came with a result %+v", err, res)
			}
			return
		}
		if _, err := bluegreen.ParseHookStatus(string(res.Status)); err != nil {
			t.Fatalf("accepted status %q: %v", res.Status, err)
		}
		if res.CallbackDelay < 0 || res.CallbackDelay > lambdahook.MaxCallBackDelay || res.CallbackDelay%time.Millisecond != 0 {
			t.Fatalf("accepted callback delay %v", res.CallbackDelay)
		}
		if res.Details != nil {
			var obj map[string]any
			if err := json.Unmarshal(res.Details, &obj); err != nil || obj == nil {
				t.Fatalf("accepted details %s that are not a JSON object: %v", res.Details, err)
			}
		}
		if res.Reason != "" {
			t.Fatalf("ParseResponse set a reason: %q", res.Reason)
		}
		// What was accepted survives a round trip through the wire form.
		wire := map[string]any{"hookStatus": res.Status, "callBackDelay": res.CallbackDelay.Seconds()}
		if res.Details != nil {
			wire["hookDetails"] = res.Details
		}
		b2, err := json.Marshal(wire)
		if err != nil {
			t.Fatal(err)
		}
		again, err := lambdahook.ParseResponse(b2)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", b2, err)
		}
		if again.Status != res.Status || math.Abs(float64(again.CallbackDelay-res.CallbackDelay)) > 0 || !jsonEqual(again.Details, res.Details) {
			t.Fatalf("round trip: %+v, then %+v", res, again)
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}
