package lambdaalias_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestAgainstMoto checks the Backend's Lambda calls against moto's Lambda,
// a second opinion on the wire shapes (UpdateFunctionCode, PublishVersion,
// GetFunctionConfiguration, the alias calls with their RoutingConfig), with
// one moto server for its subtests. Nothing is invoked: moto runs
// functions in Docker, which CI does not have, and the Backend never
// invokes. moto reports every code update Successful at once, so the wait
// for an update in progress is not exercised here (TestVersionStates and
// TestScaleUpWaitsForAnUpdateInProgress cover it against the fake).
func TestAgainstMoto(t *testing.T) {
	base := awsfake.StartMoto(t)
	client := lambda.NewFromConfig(awsfake.Config(base))
	role := motoRole(t, base)
	t.Run("Deployment", func(t *testing.T) { deploymentAgainstMoto(t, client, role) })
	t.Run("ComputeConformance", func(t *testing.T) { computeConformanceAgainstMoto(t, client, role) })
	t.Run("RouterConformance", func(t *testing.T) { routerConformanceAgainstMoto(t, client, role) })
}

// motoRole creates the IAM role functions run as: moto refuses
// CreateFunction for a role its IAM does not hold. There is no IAM client
// in go.mod, so this is IAM's query protocol by hand.
func motoRole(t *testing.T, base string) string {
	t.Helper()
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"bluegreen-lambda"},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}}
	req, err := http.NewRequest(http.MethodPost, base, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto picks the service from the credential scope; it checks no signature.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDAWSFAKE/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IAM CreateRole in moto: %s: %s", resp.Status, body)
	}
	return "arn:aws:iam::123456789012:role/bluegreen-lambda"
}

// motoZip returns a deployment package whose handler returns n.
func motoZip(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create("handler.py")
	if err == nil {
		_, err = fmt.Fprintf(f, "def handler(event, context):\n    return %d\n", n)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// motoFunction creates function name in moto with code 0.
func motoFunction(t testing.TB, client *lambda.Client, role, name string) {
	t.Helper()
	_, err := client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role),
		Runtime: lambdatypes.RuntimePython312, Handler: aws.String("handler.handler"), Code: &lambdatypes.FunctionCode{ZipFile: motoZip(t, 0)}})
	if err != nil {
		t.Fatalf("CreateFunction %s in moto: %v", name, err)
	}
}

// zipRevision is revision n of function fn: a zip file.
func zipRevision(t testing.TB, fn string, n int) bluegreen.Revision {
	spec, err := json.Marshal(lambdaalias.Spec{ZipFile: motoZip(t, n)})
	if err != nil {
		t.Fatal(err)
	}
	return bluegreen.Revision{Name: fmt.Sprintf("%s:%d", fn, n), Spec: spec}
}

// motoAlias is what the test compares of an alias read from moto.
type motoAlias struct {
	Version string
	Weights map[string]float64
}

// motoAliases lists fn's aliases as moto holds them.
func motoAliases(t *testing.T, client *lambda.Client, fn string) map[string]motoAlias {
	t.Helper()
	out, err := client.ListAliases(context.Background(), &lambda.ListAliasesInput{FunctionName: aws.String(fn)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]motoAlias{}
	for _, a := range out.Aliases {
		m := motoAlias{Version: aws.ToString(a.FunctionVersion)}
		if a.RoutingConfig != nil && len(a.RoutingConfig.AdditionalVersionWeights) > 0 {
			m.Weights = a.RoutingConfig.AdditionalVersionWeights
		}
		got[aws.ToString(a.Name)] = m
	}
	return got
}

// deploymentAgainstMoto runs a deployment's calls step by step: blue
// published into slot A and routed, green published into slot B, a 0.1%
// canary, a 10% split, all to green, Discover, blue scaled down, and
// checks after each step the aliases moto holds and the routes read back.
func deploymentAgainstMoto(t *testing.T, client *lambda.Client, role string) {
	ctx := context.Background()
	const fn = "orders"
	motoFunction(t, client, role, fn)
	b, err := lambdaalias.New(lambdaalias.Options{Client: client, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	blue := bluegreen.Environment{Service: fn, Slot: bluegreen.SlotA, Revision: zipRevision(t, fn, 1), DeploymentID: "dep-1"}
	green := bluegreen.Environment{Service: fn, Slot: bluegreen.SlotB, Revision: zipRevision(t, fn, 2), DeploymentID: "dep-2"}
	slotA := motoAlias{Version: "1"}
	slotB := motoAlias{Version: "2"}
	steps := []struct {
		name    string
		do      func() error
		aliases map[string]motoAlias
		routes  bluegreen.Routes
	}{
		{"blue published into slot A", func() error { return b.ScaleUp(ctx, blue) },
			map[string]motoAlias{"live-slot-a": slotA}, bluegreen.Routes{}},
		{"again: idempotent", func() error { return b.ScaleUp(ctx, blue) },
			map[string]motoAlias{"live-slot-a": slotA}, bluegreen.Routes{}},
		{"all to blue", func() error {
			return b.SetRoutes(ctx, fn, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA})
		}, map[string]motoAlias{"live-slot-a": slotA, "live": {Version: "1"}, "live-test": {Version: "1"}},
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}},
		{"green published into slot B", func() error { return b.ScaleUp(ctx, green) },
			map[string]motoAlias{"live-slot-a": slotA, "live-slot-b": slotB, "live": {Version: "1"}, "live-test": {Version: "1"}},
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}},
		{"test route to green", func() error {
			return b.SetRoutes(ctx, fn, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB})
		}, map[string]motoAlias{"live-slot-a": slotA, "live-slot-b": slotB, "live": {Version: "1"}, "live-test": {Version: "2"}},
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}},
		{"canary 0.1%", func() error {
			return b.SetRoutes(ctx, fn, bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB})
		}, map[string]motoAlias{"live-slot-a": slotA, "live-slot-b": slotB, "live": {Version: "1", Weights: map[string]float64{"2": 0.001}}, "live-test": {Version: "2"}},
			bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}},
		{"split 12.5%", func() error {
			return b.SetRoutes(ctx, fn, bluegreen.Routes{Production: bluegreen.Weights{A: 875, B: 125}, Test: bluegreen.SlotB})
		}, map[string]motoAlias{"live-slot-a": slotA, "live-slot-b": slotB, "live": {Version: "1", Weights: map[string]float64{"2": 0.125}}, "live-test": {Version: "2"}},
			bluegreen.Routes{Production: bluegreen.Weights{A: 875, B: 125}, Test: bluegreen.SlotB}},
		{"all to green", func() error {
			return b.SetRoutes(ctx, fn, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB})
		}, map[string]motoAlias{"live-slot-a": slotA, "live-slot-b": slotB, "live": {Version: "2"}, "live-test": {Version: "2"}},
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.aliases, motoAliases(t, client, fn)); diff != "" {
			t.Errorf("%s: aliases in moto (-want +got):\n%s", s.name, diff)
		}
		got, err := b.Routes(ctx, fn)
		if err != nil {
			t.Fatalf("%s: Routes: %v", s.name, err)
		}
		if got != s.routes {
			t.Errorf("%s: Routes = %v, want %v", s.name, got, s.routes)
		}
	}
	for _, env := range []bluegreen.Environment{blue, green} {
		st, err := b.Status(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if want := (bluegreen.Status{Desired: 1, Running: 1, Healthy: 1}); st != want {
			t.Errorf("Status of slot %s = %+v, want %+v (moto: State Active, LastUpdateStatus Successful)", env.Slot, st, want)
		}
	}

	// Discover: both slots' versions, green primary, each deployable again
	// by its version number.
	found, err := b.Discover(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Slot         bluegreen.Slot
		Revision     string
		Spec         string
		DeploymentID string
		Primary      bool
		Ready        bool
	}
	var gotFound []summary
	for _, f := range found {
		gotFound = append(gotFound, summary{f.Environment.Slot, f.Environment.Revision.Name, string(f.Environment.Revision.Spec),
			f.Environment.DeploymentID, f.Primary, f.Status.Ready()})
	}
	wantFound := []summary{
		{bluegreen.SlotA, "orders:1", `{"version":"1"}`, "dep-1", false, true},
		{bluegreen.SlotB, "orders:2", `{"version":"2"}`, "dep-2", true, true},
	}
	if diff := cmp.Diff(wantFound, gotFound); diff != "" {
		t.Errorf("Discover (-want +got):\n%s", diff)
	}

	// Blue scaled down: its slot alias goes, its version stays (no
	// DeleteVersions), and a second ScaleDown does nothing.
	for range 2 {
		if err := b.ScaleDown(ctx, blue); err != nil {
			t.Fatalf("ScaleDown: %v", err)
		}
	}
	want := map[string]motoAlias{"live-slot-b": slotB, "live": {Version: "2"}, "live-test": {Version: "2"}}
	if diff := cmp.Diff(want, motoAliases(t, client, fn)); diff != "" {
		t.Errorf("aliases in moto after blue's ScaleDown (-want +got):\n%s", diff)
	}
	if _, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: aws.String("1")}); err != nil {
		t.Errorf("version 1 after ScaleDown without DeleteVersions: %v; want it kept", err)
	}
	if st, err := b.Status(ctx, blue); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("Status of blue after ScaleDown = %+v, %v; want the zero Status", st, err)
	}

	// Nothing routed deletes the production and test aliases.
	if err := b.SetRoutes(ctx, fn, bluegreen.Routes{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]motoAlias{"live-slot-b": slotB}, motoAliases(t, client, fn)); diff != "" {
		t.Errorf("aliases in moto after routing nothing (-want +got):\n%s", diff)
	}
}

// computeConformanceAgainstMoto runs bluegreentest.TestCompute over a
// function in moto per subtest, with versions deleted on ScaleDown. The
// failing-revision subtest is skipped: moto accepts any zip file and never
// fails a code update.
func computeConformanceAgainstMoto(t *testing.T, client *lambda.Client, role string) {
	var fns atomic.Int32
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		fn := fmt.Sprintf("compute%d", fns.Add(1))
		motoFunction(t, client, role, fn)
		var n atomic.Int32
		return bluegreentest.ComputeHarness{
			Compute:       newBackend(t, client, lambdaalias.Options{DeleteVersions: true}),
			Service:       fn,
			Revision:      func() bluegreen.Revision { return zipRevision(t, fn, int(n.Add(1))) },
			HealthTimeout: 5 * time.Second,
			PollInterval:  10 * time.Millisecond,
		}
	})
}

// routerConformanceAgainstMoto runs bluegreentest.TestRouter over two
// functions in moto per subtest, whose slots hold versions 1 and 2.
func routerConformanceAgainstMoto(t *testing.T, client *lambda.Client, role string) {
	var fns atomic.Int32
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		b := newBackend(t, client, lambdaalias.Options{})
		var services []string
		for range 2 {
			fn := fmt.Sprintf("router%d", fns.Add(1))
			motoFunction(t, client, role, fn)
			for i, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
				env := bluegreen.Environment{Service: fn, Slot: slot, Revision: zipRevision(t, fn, i+1), DeploymentID: fmt.Sprintf("setup-%d", i+1)}
				if err := b.ScaleUp(context.Background(), env); err != nil {
					t.Fatal(err)
				}
			}
			services = append(services, fn)
		}
		return bluegreentest.RouterHarness{Router: b, Services: services}
	})
}
