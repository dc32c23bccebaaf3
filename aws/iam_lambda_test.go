package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
	"github.com/google/go-cmp/cmp"
)

// TestIAMPolicyLambda checks that iam-policy-lambda.json allows exactly
// the actions of lambdaalias.API, each of which deployments through the
// fake are seen to call (a first deployment, a second, and one rolled
// back, with DeleteVersions), and nothing else.
func TestIAMPolicyLambda(t *testing.T) {
	t.Parallel()
	fake := awsfake.NewLambda()
	fake.SetUpdateDelay(5 * time.Millisecond)
	if err := fake.AddFunction(awsfake.LambdaFunction{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	fake.FailUpdates("s3://code/orders-3.zip", "InvalidZipFileException", "Could not unzip uploaded file.")
	b, err := lambdaalias.New(lambdaalias.Options{Client: lambda.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake))),
		DeleteVersions: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d, err := bluegreen.New(bluegreen.Config{Compute: b, Router: b, Store: bluegreen.NewMemoryStore(), Shift: bluegreen.Linear(50, 0),
		HealthInterval: 10 * time.Millisecond, HealthTimeout: 10 * time.Second, Owner: "iam-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for n := 1; n <= 3; n++ {
		spec, _ := json.Marshal(lambdaalias.Spec{S3Bucket: "code", S3Key: "orders-" + strconv.Itoa(n) + ".zip"})
		_, err := d.Deploy(ctx, "orders", bluegreen.Revision{Name: "orders:" + strconv.Itoa(n), Spec: spec})
		if rolledBack := errors.Is(err, bluegreen.ErrRolledBack); (n == 3) != rolledBack {
			t.Fatalf("deployment %d: %v", n, err)
		}
	}

	observed := slices.Sorted(maps.Keys(fake.Faults.Calls()))
	for i, op := range observed {
		observed[i] = iamAction("lambda", op)
	}
	var derived []string
	for m := range reflect.TypeFor[lambdaalias.API]().Methods() {
		derived = append(derived, iamAction("lambda", m.Name))
	}
	slices.Sort(derived)
	if diff := cmp.Diff(derived, observed); diff != "" {
		t.Errorf("actions of lambdaalias.API (-) against the calls observed (+):\n%s", diff)
	}
	if diff := cmp.Diff(derived, policyFileActions(t, "iam-policy-lambda.json")); diff != "" {
		t.Errorf("actions lambdaalias calls (-) against iam-policy-lambda.json (+):\n%s", diff)
	}
}
