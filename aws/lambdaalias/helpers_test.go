package lambdaalias_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
)

// newBackend returns a Backend over fake through client, polling fast.
func newBackend(t testing.TB, client *lambda.Client, o lambdaalias.Options) *lambdaalias.Backend {
	t.Helper()
	o.Client = client
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Millisecond
	}
	b, err := lambdaalias.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addFunction creates function name in fake, or fails the test.
func addFunction(t testing.TB, fake *awsfake.Lambda, name string) {
	t.Helper()
	if err := fake.AddFunction(awsfake.LambdaFunction{Name: name, Code: "s3://code/" + name + "-0.zip"}); err != nil {
		t.Fatal(err)
	}
}

// s3Revision is revision n of a function, from S3.
func s3Revision(function string, n int) bluegreen.Revision {
	spec, _ := json.Marshal(lambdaalias.Spec{S3Bucket: "code", S3Key: function + "-" + itoa(n) + ".zip"})
	return bluegreen.Revision{Name: function + ":" + itoa(n), Spec: spec}
}

// versionRevision deploys published version v.
func versionRevision(function, v string) bluegreen.Revision {
	spec, _ := json.Marshal(lambdaalias.Spec{Version: v})
	return bluegreen.Revision{Name: function + "@" + v, Spec: spec}
}

func itoa(n int) string { return json.Number(jsonInt(n)).String() }

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }
