package local

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// These tests start no process, so they run on every system, Windows
// included.

// TestPlatform checks which systems run instances, attached and detached,
// and that the others refuse with a not-supported error at New (detached)
// or ScaleUp (attached), before anything starts.
func TestPlatform(t *testing.T) {
	support := map[string]struct{ attached, detached bool }{
		"linux":   {true, true},
		"android": {true, true},
		"darwin":  {true, true},
		"ios":     {true, true},
		"freebsd": {true, false},
		"openbsd": {true, false},
		"netbsd":  {true, false},
		"windows": {false, false},
		"js":      {false, false},
		"wasip1":  {false, false},
	}
	want, known := support[runtime.GOOS]
	if !known {
		t.Skipf("no expectation for %s", runtime.GOOS)
	}
	check := func(what string, err error, supported bool) {
		t.Helper()
		if supported {
			if err != nil {
				t.Errorf("%s on %s: %v, want it supported", what, runtime.GOOS, err)
			}
			return
		}
		if !errors.Is(err, bluegreen.ErrFailedPrecondition) || !strings.Contains(err.Error(), "not supported on "+runtime.GOOS) {
			t.Errorf("%s on %s: %v, want a failed precondition saying it is not supported on %s", what, runtime.GOOS, err, runtime.GOOS)
		}
	}
	check("checkPlatform(attached)", checkPlatform(false), want.attached)
	check("checkPlatform(detached)", checkPlatform(true), want.detached)

	c, err := New(Options{LogDir: t.TempDir(), StateDir: t.TempDir()})
	check("New with a StateDir", err, want.detached)
	if err == nil {
		c.Close()
	}
	if want.attached {
		return // the other tests run instances
	}
	c, err = New(Options{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d1",
		Revision: bluegreen.Revision{Name: "web:1", Spec: json.RawMessage(`{"command":"web"}`)}}
	check("ScaleUp", c.ScaleUp(t.Context(), env), false)
	if st, err := c.Status(t.Context(), env); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("Status after a refused ScaleUp = %+v, %v; want the zero Status", st, err)
	}
	if found, err := c.Discover(t.Context(), "web"); err != nil || len(found) != 0 {
		t.Errorf("Discover after a refused ScaleUp = %+v, %v; want nothing", found, err)
	}
}

// TestStatusCannotBecomeReady checks environments that can never become
// ready: Status says so at once, with Failed, rather than leave the Deployer
// waiting for its health timeout.
func TestStatusCannotBecomeReady(t *testing.T) {
	tests := []struct {
		name       string
		instances  int // the spec's count
		want       bluegreen.Status
		wantReason string
	}{
		{"desired count 0", 0, bluegreen.Status{Failed: true}, "desired count is 0: web:1 asks for no instances"},
		{"no instance recorded", 2, bluegreen.Status{Desired: 2, Failed: true}, "none of the 2 desired instances is running: none is recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{LogDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d1",
				Revision: bluegreen.Revision{Name: "web:1", Spec: json.RawMessage(`{"command":"web"}`)}}
			// ScaleUp cannot make such an environment (see
			// TestScaleUpZeroInstances); a state file can hold one, as
			// adopt reads it.
			e := newEnvironment(env, Spec{Command: "web", Instances: tt.instances})
			close(e.started)
			c.envs[e.key] = e

			st, err := c.Status(t.Context(), env)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(st.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want it to start with %q", st.Reason, tt.wantReason)
			}
			st.Reason = ""
			if diff := cmp.Diff(tt.want, st); diff != "" {
				t.Errorf("Status (-want +got):\n%s", diff)
			}
			found, err := c.Discover(t.Context(), "web")
			if err != nil || len(found) != 1 || !found[0].Status.Failed {
				t.Errorf("Discover = %+v, %v; want the environment, failed", found, err)
			}
		})
	}
}

// TestScaleUpZeroInstances: a spec asking for no instances is bad input,
// refused before anything starts, naming the field.
func TestScaleUpZeroInstances(t *testing.T) {
	c, err := New(Options{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d1",
		Revision: bluegreen.Revision{Name: "web:1", Spec: json.RawMessage(`{"command":"web","instances":0}`)}}
	err = c.ScaleUp(t.Context(), env)
	var ce *bluegreen.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Revision.Spec.instances" || !errors.Is(err, bluegreen.ErrInvalid) {
		t.Fatalf("ScaleUp with instances 0 = %v, want an invalid-input error naming Revision.Spec.instances", err)
	}
	if c.Instances("web", bluegreen.SlotA) != nil {
		t.Errorf("ScaleUp started %+v", c.Instances("web", bluegreen.SlotA))
	}
}
