package bluegreen_test

import (
	"errors"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestStages(t *testing.T) {
	type row struct {
		Name        string
		Hooks       bool
		PauseHooks  bool
		RoundTrip   bool
		MarshalText string
	}
	var got []row
	for _, s := range bluegreen.Stages() {
		p, err := bluegreen.ParseStage(s.String())
		b, _ := s.MarshalText()
		got = append(got, row{s.String(), s.TakesHooks(), s.TakesPauseHooks(), err == nil && p == s, string(b)})
	}
	want := []row{
		{"RECONCILE_SERVICE", true, true, true, "RECONCILE_SERVICE"},
		{"PRE_SCALE_UP", true, true, true, "PRE_SCALE_UP"},
		{"SCALE_UP", false, false, true, "SCALE_UP"},
		{"POST_SCALE_UP", true, true, true, "POST_SCALE_UP"},
		{"TEST_TRAFFIC_SHIFT", true, false, true, "TEST_TRAFFIC_SHIFT"},
		{"POST_TEST_TRAFFIC_SHIFT", true, true, true, "POST_TEST_TRAFFIC_SHIFT"},
		{"PRE_PRODUCTION_TRAFFIC_SHIFT", true, true, true, "PRE_PRODUCTION_TRAFFIC_SHIFT"},
		{"PRODUCTION_TRAFFIC_SHIFT", true, false, true, "PRODUCTION_TRAFFIC_SHIFT"},
		{"POST_PRODUCTION_TRAFFIC_SHIFT", true, true, true, "POST_PRODUCTION_TRAFFIC_SHIFT"},
		{"BAKE_TIME", false, false, true, "BAKE_TIME"},
		{"CLEAN_UP", false, false, true, "CLEAN_UP"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	for _, in := range []string{"bake-time", " post_scale_up "} {
		if _, err := bluegreen.ParseStage(in); err != nil {
			t.Errorf("ParseStage(%q): %v", in, err)
		}
	}
	for _, in := range []string{"", "BAKE", "UNKNOWN", "Stage(12)"} {
		if _, err := bluegreen.ParseStage(in); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("ParseStage(%q): %v, want ErrInvalid", in, err)
		}
	}
	if got := bluegreen.Stage(0).String(); got != "UNKNOWN" {
		t.Errorf("zero stage prints %q", got)
	}
	var zero bluegreen.Stage
	if b, err := zero.MarshalText(); err != nil || len(b) != 0 || zero.UnmarshalText(b) != nil || zero != 0 {
		t.Errorf("the zero stage does not round-trip as \"\": %q %v", b, err)
	}
	if _, err := bluegreen.Stage(99).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid stage succeeded")
	}
}

func FuzzParseStage(f *testing.F) {
	for _, s := range bluegreen.Stages() {
		f.Add(s.String())
	}
	f.Add("bake-time")
	f.Add("\x00")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := bluegreen.ParseStage(in)
		if err != nil {
			if !errors.Is(err, bluegreen.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if again, err := bluegreen.ParseStage(s.String()); err != nil || again != s {
			t.Fatalf("%q parsed to %v, which does not round-trip", in, s)
		}
	})
}

func TestErrorCodes(t *testing.T) {
	base := errors.New("raw")
	tests := []struct {
		err  error
		is   error
		code bluegreen.Code
	}{
		{bluegreen.NewError(bluegreen.CodeThrottled, base), bluegreen.ErrThrottled, bluegreen.CodeThrottled},
		{&bluegreen.ConfigError{Field: "f"}, bluegreen.ErrInvalid, bluegreen.CodeUnknown},
		{&bluegreen.InProgressError{Service: "s"}, bluegreen.ErrInProgress, bluegreen.CodeUnknown},
		{&bluegreen.RollbackError{Service: "s"}, bluegreen.ErrRolledBack, bluegreen.CodeUnknown},
		{&bluegreen.Error{Code: bluegreen.CodeConflict, Err: base}, bluegreen.ErrConflict, bluegreen.CodeConflict},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.is) {
			t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.is)
		}
		if got := bluegreen.ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %v, want %v", tt.err, got, tt.code)
		}
	}
	if errors.Is(bluegreen.NewError(bluegreen.CodeThrottled, base), bluegreen.ErrTransient) {
		t.Error("a throttled error matched ErrTransient")
	}
	if !errors.Is(bluegreen.NewError(bluegreen.CodeTransient, base), base) {
		t.Error("the cause is lost")
	}
}
