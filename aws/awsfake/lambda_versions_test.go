package awsfake

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

// TestLambdaCodeUpdateAndPublish drives a code update through InProgress to
// Successful in virtual time, publishes it, and checks Lambda's rules: no
// second version for unchanged code, no update or publish while one is in
// progress, the CodeSha256 precondition, and a failed update keeping the
// previous code.
func TestLambdaCodeUpdateAndPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := NewLambda()
		fake.SetUpdateDelay(3 * time.Second)
		fake.FailUpdates("s3://code/bad.zip", "InvalidZipFileException", "Could not unzip uploaded file.")
		if err := fake.AddFunction(LambdaFunction{Name: "web", Code: "s3://code/v0.zip"}); err != nil {
			t.Fatal(err)
		}
		client := lambda.NewFromConfig(InProcessConfig(fake))
		ctx := t.Context()
		fn := aws.String("web")

		up, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: fn, S3Bucket: aws.String("code"), S3Key: aws.String("v1.zip")})
		if err != nil {
			t.Fatal(err)
		}
		if up.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress {
			t.Errorf("UpdateFunctionCode: LastUpdateStatus %s, want InProgress", up.LastUpdateStatus)
		}
		_, err = client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: fn, S3Bucket: aws.String("code"), S3Key: aws.String("v2.zip")})
		if apiCode(err) != "ResourceConflictException" {
			t.Errorf("a second update during the first = %v, want ResourceConflictException", err)
		}
		if _, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn}); apiCode(err) != "ResourceConflictException" {
			t.Errorf("PublishVersion during an update = %v, want ResourceConflictException", err)
		}
		time.Sleep(3 * time.Second)
		cfg, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: fn})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful || aws.ToString(cfg.CodeSha256) != aws.ToString(up.CodeSha256) {
			t.Errorf("after the delay: %s with %s, want Successful with %s", cfg.LastUpdateStatus, aws.ToString(cfg.CodeSha256), aws.ToString(up.CodeSha256))
		}
		if _, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn, CodeSha256: aws.String("other")}); apiCode(err) != "PreconditionFailedException" {
			t.Errorf("PublishVersion with another CodeSha256 = %v, want PreconditionFailedException", err)
		}
		v1, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn, CodeSha256: up.CodeSha256, Description: aws.String("d-1")})
		if err != nil {
			t.Fatal(err)
		}
		again, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn, Description: aws.String("d-2")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v1.Version) != "1" || aws.ToString(again.Version) != "1" || aws.ToString(again.Description) != "d-1" {
			t.Errorf("publish, publish unchanged = version %s, %s (%q); want 1, 1 (\"d-1\")", aws.ToString(v1.Version), aws.ToString(again.Version), aws.ToString(again.Description))
		}

		// A failed update keeps the code.
		if _, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: fn, S3Bucket: aws.String("code"), S3Key: aws.String("bad.zip")}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		cfg, err = client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: fn})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LastUpdateStatus != lambdatypes.LastUpdateStatusFailed || aws.ToString(cfg.LastUpdateStatusReason) != "Could not unzip uploaded file." ||
			cfg.LastUpdateStatusReasonCode != "InvalidZipFileException" || aws.ToString(cfg.CodeSha256) != aws.ToString(up.CodeSha256) {
			t.Errorf("after a failed update: %s %q %s, code %s; want Failed with the reason, the code of v1", cfg.LastUpdateStatus,
				aws.ToString(cfg.LastUpdateStatusReason), cfg.LastUpdateStatusReasonCode, aws.ToString(cfg.CodeSha256))
		}

		// Zip bytes, and a version read by number.
		zip, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: fn, ZipFile: []byte("PK\x03\x04 v2")})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		v2, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: fn})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v2.Version) != "2" || aws.ToString(v2.CodeSha256) != aws.ToString(zip.CodeSha256) {
			t.Errorf("zip update published as %s with %s, want 2 with %s", aws.ToString(v2.Version), aws.ToString(v2.CodeSha256), aws.ToString(zip.CodeSha256))
		}
		got, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: fn, Qualifier: aws.String("1")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Version) != "1" || got.State != lambdatypes.StateActive || aws.ToString(got.Description) != "d-1" {
			t.Errorf("version 1: %s %s %q", aws.ToString(got.Version), got.State, aws.ToString(got.Description))
		}
		if err := fake.FailVersion("web", "1", "ENI limit reached"); err != nil {
			t.Fatal(err)
		}
		got, err = client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("web:1")})
		if err != nil || got.State != lambdatypes.StateFailed || aws.ToString(got.StateReason) != "ENI limit reached" {
			t.Errorf("failed version 1 = %v, %v; want State Failed with the reason", got, err)
		}
		want := []LambdaVersion{{Version: "1", Code: "s3://code/v1.zip", Description: "d-1", State: "Failed"},
			{Version: "2", Code: "zip:" + aws.ToString(zip.CodeSha256), State: "Active"}}
		if diff := cmp.Diff(want, fake.Versions("web")); diff != "" {
			t.Errorf("versions (-want +got):\n%s", diff)
		}
	})
}

func TestLambdaCodeUpdateRefusals(t *testing.T) {
	fake, client := newLambdaClient(t)
	for _, f := range []LambdaFunction{{Name: "zip"}, {Name: "img", PackageType: "Image", Code: "123.dkr.ecr/app:1"}} {
		if err := fake.AddFunction(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		in   *lambda.UpdateFunctionCodeInput
		want string
	}{
		{"image to a zip function", &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zip"), ImageUri: aws.String("x:1")}, "InvalidParameterValueException"},
		{"zip to an image function", &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("img"), ZipFile: []byte("PK")}, "InvalidParameterValueException"},
		{"no code", &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zip")}, "InvalidParameterValueException"},
		{"two sources", &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zip"), ZipFile: []byte("PK"), S3Bucket: aws.String("b"), S3Key: aws.String("k")}, "InvalidParameterValueException"},
		{"no function", &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("nope"), ZipFile: []byte("PK")}, "ResourceNotFoundException"},
		{"stale revision", &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zip"), ZipFile: []byte("PK"), RevisionId: aws.String("r")}, "PreconditionFailedException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.UpdateFunctionCode(t.Context(), tc.in); apiCode(err) != tc.want {
				t.Errorf("UpdateFunctionCode = %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := client.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("img"), ImageUri: aws.String("123.dkr.ecr/app:2")}); err != nil {
		t.Errorf("image update: %v", err)
	}
	if f, _ := fake.Function("img"); f.Code != "123.dkr.ecr/app:2" {
		t.Errorf("image function's code = %s after an update with no delay", f.Code)
	}
}

// TestLambdaAliases checks alias routing as Lambda validates it: weights
// between 0 and 1 on one other published version, RoutingConfig omitted
// (unchanged) or empty (cleared), the RevisionId precondition, listing with
// a version filter and pages, and versions an alias references kept from
// deletion.
func TestLambdaAliases(t *testing.T) {
	fake, client := newLambdaClient(t)
	if err := fake.AddFunction(LambdaFunction{Name: "web", Code: "s3://c/0"}); err != nil {
		t.Fatal(err)
	}
	for i, loc := range []string{"s3://c/1", "s3://c/2", "s3://c/3"} {
		if v, err := fake.PublishCode("web", loc, ""); err != nil || v != string(rune('1'+i)) {
			t.Fatalf("PublishCode = %s, %v", v, err)
		}
	}
	ctx := t.Context()
	fn := aws.String("arn:aws:lambda:us-east-1:123456789012:function:web")
	weights := func(v string, w float64) *lambdatypes.AliasRoutingConfiguration {
		return &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{v: w}}
	}
	live, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: weights("2", 0.001), Description: aws.String("routes")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String("1")}); apiCode(err) != "ResourceConflictException" {
		t.Errorf("CreateAlias of an existing alias = %v, want ResourceConflictException", err)
	}
	for _, tc := range []struct {
		name    string
		version string
		routing *lambdatypes.AliasRoutingConfiguration
		want    string
	}{
		{"weight above 1", "1", weights("2", 1.5), "InvalidParameterValueException"},
		{"same version twice", "1", weights("1", 0.5), "InvalidParameterValueException"},
		{"two additional versions", "1", &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.1, "3": 0.1}}, "InvalidParameterValueException"},
		{"unknown version", "9", nil, "ResourceNotFoundException"},
		{"weights on $LATEST", "$LATEST", weights("2", 0.5), "InvalidParameterValueException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String(tc.version), RoutingConfig: tc.routing})
			if apiCode(err) != tc.want {
				t.Errorf("UpdateAlias = %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"), FunctionVersion: aws.String("3"),
		RevisionId: aws.String("stale")}); apiCode(err) != "PreconditionFailedException" {
		t.Errorf("UpdateAlias with a stale RevisionId = %v, want PreconditionFailedException", err)
	}
	// RoutingConfig omitted: unchanged.
	up, err := client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"), RevisionId: live.RevisionId, FunctionVersion: aws.String("3")})
	if err != nil {
		t.Fatal(err)
	}
	if up.RoutingConfig == nil || up.RoutingConfig.AdditionalVersionWeights["2"] != 0.001 || aws.ToString(up.Description) != "routes" {
		t.Errorf("UpdateAlias without RoutingConfig changed it: %+v", up.RoutingConfig)
	}
	if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn, Qualifier: aws.String("2")}); apiCode(err) != "ResourceConflictException" {
		t.Errorf("DeleteFunction of a version an alias routes to = %v, want ResourceConflictException", err)
	}
	// Empty RoutingConfig: cleared.
	if _, err := client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: fn, Name: aws.String("live"),
		RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: fn, Qualifier: aws.String("2")}); err != nil {
		t.Errorf("DeleteFunction of a version no alias references: %v", err)
	}
	if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("web:2")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("DeleteFunction of a deleted version = %v, want ResourceNotFoundException", err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String(name), FunctionVersion: aws.String("1")}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	var marker *string
	for range 10 {
		out, err := client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: fn, MaxItems: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Aliases {
			names = append(names, aws.ToString(a.Name)+"→"+aws.ToString(a.FunctionVersion))
		}
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	if diff := cmp.Diff([]string{"a→1", "b→1", "c→1", "live→3"}, names); diff != "" {
		t.Errorf("ListAliases pages (-want +got):\n%s", diff)
	}
	only3, err := client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: fn, FunctionVersion: aws.String("3")})
	if err != nil || len(only3.Aliases) != 1 || aws.ToString(only3.Aliases[0].Name) != "live" {
		t.Errorf("ListAliases of version 3 = %+v, %v; want live", only3, err)
	}
	if _, err := client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: fn, Name: aws.String("a")}); err != nil {
		t.Error(err)
	}
	if _, err := client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: fn, Name: aws.String("a")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("DeleteAlias of a deleted alias = %v, want ResourceNotFoundException", err)
	}
	if _, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: fn, Name: aws.String("42"), FunctionVersion: aws.String("1")}); apiCode(err) != "ValidationException" {
		t.Errorf("CreateAlias named with digits only = %v, want ValidationException", err)
	}
	calls := fake.Faults.Calls()
	for _, op := range []string{"CreateAlias", "UpdateAlias", "DeleteFunction", "ListAliases", "DeleteAlias"} {
		if calls[op] == 0 {
			t.Errorf("no %s call counted", op)
		}
	}
}

func TestLambdaControlFaults(t *testing.T) {
	fake, client := newLambdaClient(t)
	if err := fake.AddFunction(LambdaFunction{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	fake.Faults.Add(Rule{Op: "ListAliases", Fault: InternalError(), Times: 2})
	fake.Faults.Add(Rule{Op: "GetFunctionConfiguration", Fault: Throttling()})
	if _, err := client.ListAliases(t.Context(), &lambda.ListAliasesInput{FunctionName: aws.String("web")}); err != nil {
		t.Errorf("ListAliases with 2 injected 500s (the SDK retries them): %v", err)
	}
	if n := fake.Faults.Calls()["ListAliases"]; n != 3 {
		t.Errorf("ListAliases calls = %d, want 3", n)
	}
	if _, err := client.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("web")}); apiCode(err) != "ThrottlingException" {
		t.Errorf("GetFunctionConfiguration throttled on every call = %v, want ThrottlingException", err)
	}
}
