package beanstalk

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name    string
		rev     bluegreen.Revision
		want    Spec
		wantErr string // the ConfigError's field
	}{
		{"NameOnly", bluegreen.Revision{Name: "v42"}, Spec{VersionLabel: "v42"}, ""},
		{"NameNotUTF8", bluegreen.Revision{Name: "\xa6"}, Spec{}, "Revision.Spec.versionLabel"},
		{"Label", bluegreen.Revision{Name: "web:42", Spec: json.RawMessage(`{"versionLabel":"v42"}`)}, Spec{VersionLabel: "v42"}, ""},
		{"Bundle", bluegreen.Revision{Name: "v1", Spec: json.RawMessage(`{"sourceBundle":{"s3Bucket":"b","s3Key":"k.zip"}}`)},
			Spec{VersionLabel: "v1", SourceBundle: &SourceBundle{S3Bucket: "b", S3Key: "k.zip"}}, ""},
		{"Unknown", bluegreen.Revision{Name: "v1", Spec: json.RawMessage(`{"version":"v1"}`)}, Spec{}, "Revision.Spec"},
		{"BundleNoKey", bluegreen.Revision{Name: "v1", Spec: json.RawMessage(`{"sourceBundle":{"s3Bucket":"b"}}`)}, Spec{}, "Revision.Spec.sourceBundle"},
		{"TwoPlatforms", bluegreen.Revision{Name: "v1", Spec: json.RawMessage(`{"platformArn":"p","templateName":"t"}`)}, Spec{}, "Revision.Spec.solutionStackName"},
		{"Option", bluegreen.Revision{Name: "v1", Spec: json.RawMessage(`{"optionSettings":[{"namespace":"","optionName":"x","value":"1"}]}`)}, Spec{}, "Revision.Spec.optionSettings[0]"},
		{"NoLabel", bluegreen.Revision{Name: " "}, Spec{}, "Revision.Spec.versionLabel"},
		{"TwoValues", bluegreen.Revision{Name: "v1", Spec: json.RawMessage(`{} {}`)}, Spec{}, "Revision.Spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.rev)
			if tt.wantErr != "" {
				var ce *bluegreen.ConfigError
				if !errors.As(err, &ce) || ce.Field != tt.wantErr || !errors.Is(err, bluegreen.ErrInvalid) {
					t.Fatalf("ParseSpec = %v, want a ConfigError for %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSpec (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add("v1", `{"versionLabel":"v2","sourceBundle":{"s3Bucket":"b","s3Key":"k"}}`)
	f.Add("", `null`)
	f.Fuzz(func(t *testing.T, name, spec string) {
		s, err := ParseSpec(bluegreen.Revision{Name: name, Spec: json.RawMessage(spec)})
		if err != nil {
			if !errors.Is(err, bluegreen.ErrInvalid) {
				t.Fatalf("ParseSpec error %v is not ErrInvalid", err)
			}
			return
		}
		// CreateApplicationVersion's reference: VersionLabel is 1 to 100 characters.
		if n := len(s.VersionLabel); n < 1 || n > 100 || s.validate() != nil {
			t.Fatalf("ParseSpec accepted %q: %+v", spec, s)
		}
		// What was accepted, written by encoding/json, reads back the same
		// without the revision's name to fall back on.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(bluegreen.Revision{Spec: b})
		if err != nil {
			t.Fatalf("ParseSpec(json.Marshal(%+v)): %v", s, err)
		}
		if diff := cmp.Diff(s, back); diff != "" {
			t.Fatalf("round trip through encoding/json (-first +back):\n%s", diff)
		}
	})
}
