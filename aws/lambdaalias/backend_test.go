package lambdaalias_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
	"github.com/google/go-cmp/cmp"
)

// TestEveryWeightRoundTrips sets every production weight from 0.1% to
// 99.9% and checks Lambda's weight (w/1000, exactly) and the weight read
// back.
func TestEveryWeightRoundTrips(t *testing.T) {
	fake := awsfake.NewLambda()
	b := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fake)), lambdaalias.Options{})
	slotVersions(t, fake, b, "web")
	ctx := t.Context()
	for w := bluegreen.Weight(1); w < bluegreen.Full; w++ {
		r := bluegreen.Routes{Production: bluegreen.Weights{A: bluegreen.Full - w, B: w}, Test: bluegreen.SlotB}
		if err := b.SetRoutes(ctx, "web", r); err != nil {
			t.Fatal(err)
		}
		live := fake.Aliases("web")["live"]
		if live.FunctionVersion != "1" || live.AdditionalVersionWeights["2"] != float64(w)/1000 {
			t.Fatalf("weight %v: live = %+v, want version 1 with version 2 at %v", w, live, float64(w)/1000)
		}
		got, err := b.Routes(ctx, "web")
		if err != nil || got != r {
			t.Fatalf("Routes after SetRoutes(%v) = %v, %v", r, got, err)
		}
	}
}

// TestPrimaryStaysWhileShifting checks which version the production alias
// names as primary: the one it already serves, while both slots take
// traffic; the only one, at 100%.
func TestPrimaryStaysWhileShifting(t *testing.T) {
	fake := awsfake.NewLambda()
	b := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fake)), lambdaalias.Options{})
	slotVersions(t, fake, b, "web")
	for _, tc := range []struct {
		routes bluegreen.Weights
		want   awsfake.LambdaAlias
	}{
		{bluegreen.AllTo(bluegreen.SlotA), awsfake.LambdaAlias{FunctionVersion: "1"}},
		{bluegreen.Weights{A: 100, B: 900}, awsfake.LambdaAlias{FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 0.9}}},
		{bluegreen.AllTo(bluegreen.SlotB), awsfake.LambdaAlias{FunctionVersion: "2"}},
		{bluegreen.Weights{A: 300, B: 700}, awsfake.LambdaAlias{FunctionVersion: "2", AdditionalVersionWeights: map[string]float64{"1": 0.3}}},
		{bluegreen.AllTo(bluegreen.SlotA), awsfake.LambdaAlias{FunctionVersion: "1"}},
	} {
		if err := b.SetRoutes(t.Context(), "web", bluegreen.Routes{Production: tc.routes}); err != nil {
			t.Fatal(err)
		}
		got := fake.Aliases("web")["live"]
		got.Name, got.Description = "", ""
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("after %v, live (-want +got):\n%s", tc.routes, diff)
		}
		if _, ok := fake.Aliases("web")["live-test"]; ok {
			t.Errorf("after routes with no test slot, live-test exists")
		}
	}
}

// TestScaleUpAfterCrash publishes a version and loses the slot alias (a
// crash between PublishVersion and CreateAlias): ScaleUp again publishes
// nothing new and records the same version.
func TestScaleUpAfterCrash(t *testing.T) {
	fake := awsfake.NewLambda()
	addFunction(t, fake, "web")
	b := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fake)), lambdaalias.Options{})
	fake.Faults.Add(awsfake.Rule{Op: "CreateAlias", Fault: awsfake.Fault{Status: 400, Code: "ValidationException", Message: "lost"}, Times: 1})
	env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: s3Revision("web", 7), DeploymentID: "d-7"}
	if err := b.ScaleUp(t.Context(), env); err == nil {
		t.Fatal("ScaleUp with CreateAlias failing succeeded")
	}
	if err := b.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	if err := b.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	if vs := fake.Versions("web"); len(vs) != 1 {
		t.Errorf("versions after a retried ScaleUp = %+v, want 1", vs)
	}
	var rec struct{ DeploymentID, Revision string }
	if err := json.Unmarshal([]byte(fake.Aliases("web")["live-slot-b"].Description), &rec); err != nil || rec.DeploymentID != "d-7" || rec.Revision != "web:7" {
		t.Errorf("slot alias records %+v (%v), want d-7 and web:7", rec, err)
	}
	if n := fake.Faults.Calls()["UpdateFunctionCode"]; n != 2 {
		t.Errorf("UpdateFunctionCode calls = %d, want 2 (the third ScaleUp found its slot alias)", n)
	}
	st, err := b.Status(t.Context(), env)
	if err != nil || !st.Ready() {
		t.Errorf("Status = %+v, %v; want ready", st, err)
	}
}

// TestScaleUpWaitsForAnUpdateInProgress starts a deployment while someone
// else's update is in progress: ScaleUp waits for it, then updates.
func TestScaleUpWaitsForAnUpdateInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := awsfake.NewLambda()
		fake.SetUpdateDelay(30 * time.Second)
		addFunction(t, fake, "web")
		client := lambda.NewFromConfig(awsfake.InProcessConfig(fake))
		b := newBackend(t, client, lambdaalias.Options{PollInterval: time.Second})
		if _, err := client.UpdateFunctionCode(t.Context(), &lambda.UpdateFunctionCodeInput{FunctionName: ptr("web"), ZipFile: []byte("PK other")}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: s3Revision("web", 2), DeploymentID: "d-2"}
		if err := b.ScaleUp(t.Context(), env); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 60*time.Second || took > 65*time.Second {
			t.Errorf("ScaleUp took %v, want the other update's 30s and its own 30s", took)
		}
		if f, _ := fake.Function("web"); f.Code != "s3://code/web-2.zip" {
			t.Errorf("$LATEST = %s, want web-2", f.Code)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestUpdateTimeout gives up on an update that outlasts UpdateTimeout with
// a retryable CodeTimeout error.
func TestUpdateTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := awsfake.NewLambda()
		fake.SetUpdateDelay(time.Hour)
		addFunction(t, fake, "web")
		b := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fake)), lambdaalias.Options{UpdateTimeout: time.Minute, PollInterval: 5 * time.Second})
		err := b.ScaleUp(t.Context(), bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: s3Revision("web", 1), DeploymentID: "d-1"})
		if code := bluegreen.ErrorCode(err); code != bluegreen.CodeTimeout || !code.Retryable() {
			t.Errorf("ScaleUp of an endless update = %v (code %v), want retryable CodeTimeout", err, code)
		}
	})
}

// TestVersionStates maps the states of a version to Status.
func TestVersionStates(t *testing.T) {
	fake := awsfake.NewLambda()
	b := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fake)), lambdaalias.Options{DeleteVersions: true})
	slotVersions(t, fake, b, "web")
	envB := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: versionRevision("web", "2"), DeploymentID: "setup-2"}
	if err := fake.FailVersion("web", "2", "ENI limit reached for the function's subnets"); err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(t.Context(), envB)
	if err != nil || !st.Failed || st.Reason != "version 2 of web failed (InternalError): ENI limit reached for the function's subnets" {
		t.Errorf("Status of a failed version = %+v, %v", st, err)
	}
	other := envB
	other.DeploymentID = "someone-else"
	if st, err := b.Status(t.Context(), other); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("Status of another deployment's environment in the slot = %+v, %v; want zero", st, err)
	}
	if err := b.ScaleDown(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.Aliases("web")["live-slot-b"]; !ok {
		t.Error("ScaleDown of another deployment's environment removed the slot alias")
	}
	// With DeleteVersions, a version the production alias routes to is kept.
	if err := b.SetRoutes(t.Context(), "web", bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 500}}); err != nil {
		t.Fatal(err)
	}
	if err := b.ScaleDown(t.Context(), envB); err != nil {
		t.Fatal(err)
	}
	if vs := fake.Versions("web"); len(vs) != 2 {
		t.Errorf("versions = %+v; version 2 is routed to and must stay", vs)
	}
}

// TestAdoptsBrownfieldAlias deploys over a production alias someone else
// made: Discover reports its version in slot A, Routes all traffic there,
// the Deployer adopts it as blue, and the deployment records it in
// live-slot-a before green goes to slot B and releases it at clean-up.
func TestAdoptsBrownfieldAlias(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, bluegreen.Linear(50, time.Minute))
		ctx := t.Context()
		v, err := w.lambda.PublishCode("orders", "s3://code/terraform.zip", "by terraform")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.lambda.SetAlias("orders", awsfake.LambdaAlias{Name: "live", FunctionVersion: v, Description: "managed by terraform"}); err != nil {
			t.Fatal(err)
		}
		found, err := w.b.Discover(ctx, "orders")
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := json.Marshal(lambdaalias.Spec{Version: v})
		want := []bluegreen.Found{{Environment: bluegreen.Environment{Service: "orders", Slot: bluegreen.SlotA, DeploymentID: "adopted-v1",
			Revision: bluegreen.Revision{Name: "orders:1", Spec: spec}}, Status: bluegreen.Status{Desired: 1, Running: 1, Healthy: 1}, Primary: true}}
		if diff := cmp.Diff(want, found); diff != "" {
			t.Errorf("Discover (-want +got):\n%s", diff)
		}
		if st, err := w.b.Status(ctx, found[0].Environment); err != nil || !st.Ready() {
			t.Errorf("Status of the adopted environment = %+v, %v", st, err)
		}
		if r, err := w.b.Routes(ctx, "orders"); err != nil || r != (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}) {
			t.Errorf("Routes of the adopted alias = %v, %v; want A=100%%", r, err)
		}
		res, err := w.d.Deploy(ctx, "orders", s3Revision("orders", 2))
		if err != nil || res.Green.Slot != bluegreen.SlotB {
			t.Fatalf("deployment over the adopted alias: %+v, %v", res, err)
		}
		if !res.Adopted || res.Blue == nil || res.Blue.DeploymentID != "adopted-v1" || res.Blue.Slot != bluegreen.SlotA {
			t.Errorf("result: adopted %v, blue %+v; want version 1 adopted in slot A", res.Adopted, res.Blue)
		}
		// The adopted version was recorded in live-slot-a during the
		// deployment and released at clean-up, like any blue.
		wantAliases := map[string]string{"live": "v2", "live-test": "v2", "live-slot-b": "v2"}
		if diff := cmp.Diff(wantAliases, w.aliases()); diff != "" {
			t.Errorf("aliases after the deployment (-want +got):\n%s", diff)
		}
		// Traffic never went to nothing: every shift named version 1 or 2.
		for _, s := range w.takeShifts() {
			if s == "-" {
				t.Errorf("a shift left no production alias")
			}
		}
	})
}

// TestRoutesRefusesUnknownVersion: a production alias changed by hand to a
// version no slot holds cannot be read as routes.
func TestRoutesRefusesUnknownVersion(t *testing.T) {
	fake := awsfake.NewLambda()
	b := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fake)), lambdaalias.Options{})
	slotVersions(t, fake, b, "web")
	v3, err := fake.PublishCode("web", "s3://code/hotfix.zip", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.SetAlias("web", awsfake.LambdaAlias{Name: "live", FunctionVersion: v3}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Routes(t.Context(), "web")
	if !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Errorf("Routes with live at an unknown version = %v, want ErrFailedPrecondition", err)
	}
	err = b.SetRoutes(t.Context(), "other", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	if code := b.ErrorCode(err); code != bluegreen.CodeNotFound {
		t.Errorf("SetRoutes of a missing function = %v (code %v), want CodeNotFound", err, code)
	}
	fresh := awsfake.NewLambda()
	addFunction(t, fresh, "web")
	nb := newBackend(t, lambda.NewFromConfig(awsfake.InProcessConfig(fresh)), lambdaalias.Options{})
	if err := nb.SetRoutes(t.Context(), "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Errorf("SetRoutes to an empty slot = %v, want ErrFailedPrecondition", err)
	}
}

func TestBadInput(t *testing.T) {
	client := lambda.NewFromConfig(awsfake.InProcessConfig(awsfake.NewLambda()))
	for _, tc := range []struct {
		name  string
		opts  lambdaalias.Options
		field string
	}{
		{"no client", lambdaalias.Options{}, "lambdaalias.Options.Client"},
		{"numeric alias", lambdaalias.Options{Client: client, Alias: "42"}, "lambdaalias.Options.Alias"},
		{"alias with a colon", lambdaalias.Options{Client: client, TestAlias: "a:b"}, "lambdaalias.Options.TestAlias"},
		{"two aliases alike", lambdaalias.Options{Client: client, SlotAliasA: "x", SlotAliasB: "x"}, "lambdaalias.Options.SlotAliasB"},
		{"negative timeout", lambdaalias.Options{Client: client, UpdateTimeout: -1}, "lambdaalias.Options.UpdateTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lambdaalias.New(tc.opts)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("New = %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
	for _, tc := range []struct {
		name, spec, field string
	}{
		{"empty", ``, "Revision.Spec"},
		{"unknown field", `{"bucket":"b"}`, "Revision.Spec"},
		{"two sources", `{"imageUri":"x","version":"3"}`, "Revision.Spec"},
		{"bucket without key", `{"s3Bucket":"b","s3ObjectVersion":"v"}`, "Revision.Spec.s3Key"},
		{"$LATEST", `{"version":"$LATEST"}`, "Revision.Spec.version"},
		{"leading zero", `{"version":"07"}`, "Revision.Spec.version"},
	} {
		t.Run("spec "+tc.name, func(t *testing.T) {
			_, err := lambdaalias.ParseSpec(bluegreen.Revision{Name: "x", Spec: json.RawMessage(tc.spec)})
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("ParseSpec(%s) = %v, want a ConfigError on %s", tc.spec, err, tc.field)
			}
		})
	}
	b := newBackend(t, client, lambdaalias.Options{})
	err := b.ScaleUp(context.Background(), bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "x"}, DeploymentID: "d"})
	if !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("ScaleUp without a Spec = %v, want ErrInvalid", err)
	}
}
