package bluegreen_test

import (
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestEngineConformance runs the lifecycle tests every Engine passes over
// the fake platform, the reference the real engines (aws/ecsnative,
// aws/codedeployengine) agree with.
func TestEngineConformance(t *testing.T) {
	bluegreentest.TestEngine(t, func(t *testing.T) bluegreentest.EngineHarness {
		e := bluegreentest.NewEngine()
		return bluegreentest.EngineHarness{Engine: e, Service: "web", Revision: rev("web:2"),
			Starts: func() int { return e.Count("Start") },
			Check: func(t *testing.T, res bluegreen.Result) {
				want := map[string]bluegreen.Outcome{"pd-" + res.DeploymentID: res.Outcome}
				if diff := cmp.Diff(want, e.Deployments()); diff != "" {
					t.Errorf("platform deployments (-want +got):\n%s", diff)
				}
			}}
	})
}
