package httphook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/hooks/httphook"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDecodeRequest checks the receiver's decoding against encoding/json
// decoding the same bytes into httphook.Request: it fails exactly when the
// oracle fails or the request is not a hook request (an unknown stage, two
// stages that disagree, no deployment, details that are not an object), and
// otherwise returns the oracle's fields.
func FuzzDecodeRequest(f *testing.F) {
	h, err := httphook.New(httphook.Options{URL: "https://hooks.example/smoke", Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := json.Marshal(h.Request(sampleInput()))
	f.Add(seed)
	f.Add([]byte(`{"executionId":"x","lifecycleStage":"post-scale-up","resourceArn":"arn:aws:ecs:r:1:service-deployment/c/web/d-9","hookDetails":{"a":1}}`))
	f.Add([]byte(`{"lifecycleStage":"PRE_SCALE_UP","bluegreen":{"deploymentId":"d","stage":"POST_SCALE_UP"}}`))
	f.Add([]byte(`{"lifecycleStage":"PRE_SCALE_UP","resourceArn":"d","hookDetails":null,"bluegreen":{"routes":{"production":{"a":1,"b":2}}}}`))
	f.Add([]byte(`{"lifecycleStage":"PRE_SCALE_UP","resourceArn":"d","hookDetails":[1]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := httphook.DecodeRequest(body)
		var req httphook.Request
		if jerr := json.Unmarshal(body, &req); jerr != nil {
			if err == nil {
				t.Fatalf("DecodeRequest accepted %q, which encoding/json refuses: %v", body, jerr)
			}
			return
		}
		stage, stageErr := bluegreen.ParseStage(req.LifecycleStage)
		details := bytes.TrimSpace(req.HookDetails)
		if string(details) == "null" {
			details = nil
		}
		id := req.Input.DeploymentID
		if id == "" {
			id = req.ResourceARN[bytes.LastIndexByte([]byte(req.ResourceARN), '/')+1:]
		}
		valid := stageErr == nil && (req.Input.Stage == 0 || req.Input.Stage == stage) && id != "" &&
			(len(details) == 0 || details[0] == '{')
		if !valid {
			if err == nil {
				t.Fatalf("DecodeRequest accepted %q, which is not a hook request", body)
			}
			return
		}
		if err != nil {
			t.Fatalf("DecodeRequest(%q): %v", body, err)
		}
		want := req.Input
		want.Stage, want.DeploymentID, want.Details = stage, id, nil
		if len(details) > 0 {
			want.Details = json.RawMessage(details)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("DecodeRequest(%q) (-oracle +got):\n%s", body, diff)
		}
	})
}

// FuzzRoundTrip checks that what the Hook encodes and signs, the receiver
// verifies and decodes back to the same input (less the revisions' Spec).
func FuzzRoundTrip(f *testing.F) {
	f.Add("d-1", "web", uint8(5), 3, 2, `{"token":"abc"}`, false, "web:42", int64(1767225600))
	f.Add("arn/with/slashes", "", uint8(1), 0, 1, ``, true, "", int64(0))
	f.Add("d-\u00e9\u2028", "svc\"q", uint8(8), -1, 99, `{"a":[1,2,{"b":null}],"c":"\u0000"}`, true, "x:1", int64(99999999999))
	h, err := httphook.New(httphook.Options{URL: "https://hooks.example/smoke", Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, service string, stageN uint8, step, attempt int, details string, rollback bool, rev string, unix int64) {
		if id == "" || !utf8.ValidString(id) || !utf8.ValidString(service) || !utf8.ValidString(rev) {
			t.Skip("the deployment id is required; JSON carries valid UTF-8 only")
		}
		in := bluegreen.HookInput{
			DeploymentID: id, Service: service, Stage: bluegreen.Stage(stageN%11 + 1), Step: step, Attempt: attempt, Rollback: rollback,
			Green:  bluegreen.Environment{Service: service, Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: rev, Spec: json.RawMessage(`{"secret":1}`)}},
			Routes: bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, bluegreen.Weight(step&1023)), Test: bluegreen.SlotB},
		}
		if !in.Stage.Valid() {
			t.Skip()
		}
		var obj map[string]any
		if json.Unmarshal([]byte(details), &obj) == nil && obj != nil {
			in.Details = json.RawMessage(details)
		}
		body, err := json.Marshal(h.Request(in))
		if err != nil {
			t.Fatal(err)
		}
		if unix < 0 || unix > 1e11 {
			unix = 1767225600
		}
		ts := strconv.FormatInt(unix, 10)
		header := http.Header{}
		header.Set(httphook.TimestampHeader, ts)
		header.Set(httphook.SignatureHeader, httphook.Sign(secret, ts, body))
		if err := httphook.Verify(secret, header, body, time.Unix(unix, 0), 0); err != nil {
			t.Fatalf("Verify of a request just signed: %v", err)
		}
		got, err := httphook.DecodeRequest(body)
		if err != nil {
			t.Fatalf("DecodeRequest(%s): %v", body, err)
		}
		want := in
		want.Green.Revision.Spec = nil
		if diff := cmp.Diff(want, got, cmp.Comparer(jsonEqual)); diff != "" {
			t.Fatalf("round trip (-sent +received):\n%s", diff)
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && cmp.Equal(x, y)
}
