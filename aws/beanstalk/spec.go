package beanstalk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
)

// Spec is the shape of a bluegreen.Revision's Spec for Elastic Beanstalk:
// the application version an environment runs. Every field is optional: an
// empty Spec runs the version labelled with the revision's Name.
type Spec struct {
	// VersionLabel is the application version to run; the revision's Name if empty.
	VersionLabel string `json:"versionLabel,omitempty"`
	// SourceBundle, if set, creates the application version from this S3
	// bundle when the application has no version of that label yet.
	SourceBundle *SourceBundle `json:"sourceBundle,omitempty"`
	// SolutionStackName, PlatformArn and TemplateName override the
	// service's platform for a new environment; set at most one.
	SolutionStackName string `json:"solutionStackName,omitempty"`
	PlatformArn       string `json:"platformArn,omitempty"`
	TemplateName      string `json:"templateName,omitempty"`
	// OptionSettings are added to the service's option settings when the
	// environment is created or updated.
	OptionSettings []OptionSetting `json:"optionSettings,omitempty"`
}

// SourceBundle is an application source bundle in S3.
type SourceBundle struct {
	S3Bucket string `json:"s3Bucket"`
	S3Key    string `json:"s3Key"`
}

// OptionSetting is an Elastic Beanstalk configuration option, such as
// {Namespace: "aws:autoscaling:asg", OptionName: "MinSize", Value: "2"}.
type OptionSetting struct {
	Namespace  string `json:"namespace"`
	OptionName string `json:"optionName"`
	Value      string `json:"value"`
}

// ParseSpec decodes and checks rev's Spec, rejecting unknown fields, and
// fills the version label from the revision's name.
func ParseSpec(rev bluegreen.Revision) (Spec, error) {
	var s Spec
	if len(bytes.TrimSpace(rev.Spec)) > 0 && string(bytes.TrimSpace(rev.Spec)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(rev.Spec))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec", Problem: err.Error(),
				Fix: `give a JSON object such as {"versionLabel": "v42", "sourceBundle": {"s3Bucket": "b", "s3Key": "app-v42.zip"}}`}
		}
		if dec.More() {
			return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec", Problem: "more than one JSON value", Fix: "give one JSON object"}
		}
	}
	if s.VersionLabel == "" {
		s.VersionLabel = strings.TrimSpace(rev.Name)
	}
	if err := s.validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

func (s Spec) validate() error {
	bad := func(field, problem, fix string) error {
		return &bluegreen.ConfigError{Field: "Revision.Spec." + field, Problem: problem, Fix: fix}
	}
	switch {
	case s.VersionLabel == "":
		return bad("versionLabel", "empty, and so is the revision's Name", "name the application version to run")
	case !utf8.ValidString(s.VersionLabel):
		return bad("versionLabel", fmt.Sprintf("%q is not valid UTF-8", s.VersionLabel), "name the application version in UTF-8 text")
	case len(s.VersionLabel) > 100:
		return bad("versionLabel", fmt.Sprintf("%d characters", len(s.VersionLabel)), "use at most 100 characters (Elastic Beanstalk's limit)")
	case s.SourceBundle != nil && (s.SourceBundle.S3Bucket == "" || s.SourceBundle.S3Key == ""):
		return bad("sourceBundle", "s3Bucket or s3Key empty", "give the bucket and key of the source bundle")
	case count(s.SolutionStackName, s.PlatformArn, s.TemplateName) > 1:
		return bad("solutionStackName", "more than one of solutionStackName, platformArn and templateName", "set at most one")
	}
	for i, o := range s.OptionSettings {
		if o.Namespace == "" || o.OptionName == "" {
			return bad(fmt.Sprintf("optionSettings[%d]", i), "namespace or optionName empty", `give both, such as "aws:autoscaling:asg" and "MinSize"`)
		}
	}
	return nil
}

func count(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}
