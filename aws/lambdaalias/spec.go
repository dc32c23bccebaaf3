package lambdaalias

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
)

// Spec is the body of a bluegreen.Revision for this package: where the
// code of the version to deploy comes from. Exactly one of S3 (S3Bucket
// and S3Key), ZipFile, ImageURI and Version is set.
type Spec struct {
	// S3Bucket and S3Key locate a .zip deployment package in Amazon S3, in
	// the function's Region; S3ObjectVersion optionally pins its version.
	S3Bucket        string `json:"s3Bucket,omitempty"`
	S3Key           string `json:"s3Key,omitempty"`
	S3ObjectVersion string `json:"s3ObjectVersion,omitempty"`
	// ZipFile is a .zip deployment package (base64 in JSON); up to 50 MB.
	ZipFile []byte `json:"zipFile,omitempty"`
	// ImageURI is a container image in Amazon ECR, for functions of
	// package type Image.
	ImageURI string `json:"imageUri,omitempty"`
	// Version deploys a version already published (by a CI job, or kept
	// from an earlier deployment) without updating the code.
	Version string `json:"version,omitempty"`
}

// ParseSpec reads and checks the Spec of rev.
func ParseSpec(rev bluegreen.Revision) (Spec, error) {
	var s Spec
	if len(bytes.TrimSpace(rev.Spec)) == 0 {
		return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec", Problem: "empty",
			Fix: `give the code to deploy, such as {"s3Bucket":"b","s3Key":"web-42.zip"}, {"imageUri":"…"} or {"version":"7"}`}
	}
	dec := json.NewDecoder(bytes.NewReader(rev.Spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec", Problem: err.Error(),
			Fix: "use the fields of lambdaalias.Spec: s3Bucket, s3Key, s3ObjectVersion, zipFile, imageUri, version"}
	}
	n := 0
	for _, set := range []bool{s.S3Bucket != "" || s.S3Key != "" || s.S3ObjectVersion != "", len(s.ZipFile) > 0, s.ImageURI != "", s.Version != ""} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec", Problem: fmt.Sprintf("%d code sources given", n),
			Fix: "set exactly one of s3Bucket+s3Key, zipFile, imageUri and version"}
	case (s.S3Bucket != "") != (s.S3Key != ""):
		return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec.s3Key", Problem: "s3Bucket and s3Key go together", Fix: "set both"}
	case s.Version != "":
		if n, err := strconv.Atoi(s.Version); err != nil || n < 1 || strconv.Itoa(n) != s.Version {
			return Spec{}, &bluegreen.ConfigError{Field: "Revision.Spec.version", Problem: fmt.Sprintf("%q is not a published version number", s.Version),
				Fix: `give a version number such as "7" ($LATEST and aliases cannot be deployed)`}
		}
	}
	return s, nil
}

// updateInput returns the UpdateFunctionCode call that installs s.
func (s Spec) updateInput(fn string) *lambda.UpdateFunctionCodeInput {
	in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn)}
	switch {
	case s.ImageURI != "":
		in.ImageUri = aws.String(s.ImageURI)
	case len(s.ZipFile) > 0:
		in.ZipFile = s.ZipFile
	default:
		in.S3Bucket, in.S3Key = aws.String(s.S3Bucket), aws.String(s.S3Key)
		if s.S3ObjectVersion != "" {
			in.S3ObjectVersion = aws.String(s.S3ObjectVersion)
		}
	}
	return in
}
