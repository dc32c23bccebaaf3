package local

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	rev := func(spec string) bluegreen.Revision {
		return bluegreen.Revision{Name: "web:1", Spec: json.RawMessage(spec)}
	}
	tests := []struct {
		name      string
		spec      string
		want      Spec
		wantField string // of the ConfigError, if an error is expected
		wantText  string
	}{
		{
			name: "minimal gets defaults",
			spec: `{"command":"./web"}`,
			want: Spec{Command: "./web", Instances: 2, Readiness: Readiness{Timeout: Duration(time.Second), GracePeriod: Duration(30 * time.Second)}},
		},
		{
			name: "full",
			spec: `{"command":"web","args":["-v"],"env":{"A":"1"},"dir":"/srv","instances":3,
				"readiness":{"path":"/healthz","timeout":"250ms","gracePeriod":"1m"},"stopTimeout":"2s"}`,
			want: Spec{Command: "web", Args: []string{"-v"}, Env: map[string]string{"A": "1"}, Dir: "/srv", Instances: 3,
				Readiness:   Readiness{Path: "/healthz", Timeout: Duration(250 * time.Millisecond), GracePeriod: Duration(time.Minute)},
				StopTimeout: Duration(2 * time.Second)},
		},
		{name: "empty", spec: ``, wantField: "Revision.Spec", wantText: "empty"},
		{name: "not an object", spec: `[]`, wantField: "Revision.Spec"},
		{name: "misspelt field", spec: `{"command":"web","instance":3}`, wantField: "Revision.Spec", wantText: `"instance"`},
		{name: "two values", spec: `{"command":"web"} {}`, wantField: "Revision.Spec", wantText: "more than one"},
		{name: "no command", spec: `{"args":["x"]}`, wantField: "Revision.Spec.command"},
		{name: "too many", spec: `{"command":"web","instances":65}`, wantField: "Revision.Spec.instances", wantText: "65"},
		{name: "negative instances", spec: `{"command":"web","instances":-1}`, wantField: "Revision.Spec.instances"},
		{name: "zero instances", spec: `{"command":"web","instances":0}`, wantField: "Revision.Spec.instances", wantText: "0 asks for no instances"},
		{name: "zero instances, any case", spec: `{"command":"web","Instances":0}`, wantField: "Revision.Spec.instances"},
		{
			name: "null instances gets the default",
			spec: `{"command":"./web","instances":null}`,
			want: Spec{Command: "./web", Instances: 2, Readiness: Readiness{Timeout: Duration(time.Second), GracePeriod: Duration(30 * time.Second)}},
		},
		{name: "relative path", spec: `{"command":"web","readiness":{"path":"healthz"}}`, wantField: "Revision.Spec.readiness.path"},
		{name: "duration as number", spec: `{"command":"web","stopTimeout":10}`, wantField: "Revision.Spec"},
		{name: "bad duration", spec: `{"command":"web","readiness":{"timeout":"soon"}}`, wantField: "Revision.Spec", wantText: "soon"},
		{name: "negative duration", spec: `{"command":"web","readiness":{"gracePeriod":"-1s"}}`, wantField: "Revision.Spec.readiness.gracePeriod"},
		{name: "reserved PORT", spec: `{"command":"web","env":{"PORT":"80"}}`, wantField: "Revision.Spec.env", wantText: "PORT"},
		{name: "reserved prefix", spec: `{"command":"web","env":{"BLUEGREEN_SLOT":"A"}}`, wantField: "Revision.Spec.env"},
		{name: "bad env name", spec: `{"command":"web","env":{"A=B":"1"}}`, wantField: "Revision.Spec.env"},
		{name: "NUL in args", spec: `{"command":"web","args":["a\u0000b"]}`, wantField: "Revision.Spec.args"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(rev(tt.spec))
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseSpec (-want +got):\n%s", diff)
				}
				return
			}
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.wantField || ce.Fix == "" {
				t.Fatalf("ParseSpec = %v, want a ConfigError for %s with a fix", err, tt.wantField)
			}
			if !errors.Is(err, bluegreen.ErrInvalid) || bluegreen.ErrorCode(err) != bluegreen.CodeInvalid {
				t.Errorf("ParseSpec error %v is not CodeInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
		})
	}
}

func TestSpecRevisionRoundTrip(t *testing.T) {
	s := Spec{Command: "web", Args: []string{"-x"}, Instances: 3,
		Readiness:   Readiness{Path: "/ready", Timeout: Duration(time.Second), GracePeriod: Duration(5 * time.Second)},
		StopTimeout: Duration(time.Second)}
	rev, err := s.Revision("web:7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rev.Spec), `"stopTimeout":"1s"`) {
		t.Errorf("durations are not written as strings: %s", rev.Spec)
	}
	got, err := ParseSpec(rev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Spec after a round trip (-want +got):\n%s", diff)
	}
	if _, err := (Spec{}).Revision("web:7"); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("Revision of an empty Spec = %v, want ErrInvalid", err)
	}
}

// FuzzParseSpec feeds arbitrary specs to the parser: it must not panic, and
// what it accepts must be usable: a valid instance count and timeouts, and
// the same Spec after a round trip through Spec.Revision.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		`{"command":"./web"}`,
		`{"command":"web","args":["-v"],"env":{"A":"1"},"instances":3,"readiness":{"path":"/healthz","timeout":"1s","gracePeriod":"1m"},"stopTimeout":"2s"}`,
		`{"command":"web","env":{"PORT":"1"}}`,
		`{"command":"web","stopTimeout":"-5s"}`,
		`{"command":"web","instances":1e3}`,
		`{"command":"web","instances":0}`,
		`{"command":"web","instances":3,"Instances":0}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(bluegreen.Revision{Name: "web:1", Spec: data})
		if err != nil {
			if !errors.Is(err, bluegreen.ErrInvalid) {
				t.Fatalf("ParseSpec error %v is not ErrInvalid", err)
			}
			return
		}
		if s.Instances < 1 || s.Instances > MaxInstances || s.Readiness.Timeout <= 0 || s.Readiness.GracePeriod <= 0 || s.StopTimeout < 0 {
			t.Fatalf("ParseSpec accepted %+v", s)
		}
		rev, err := s.Revision("web:1")
		if err != nil {
			t.Fatalf("Revision of an accepted spec: %v", err)
		}
		again, err := ParseSpec(rev)
		if err != nil {
			t.Fatalf("ParseSpec of %s: %v", rev.Spec, err)
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
