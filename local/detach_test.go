//go:build unix

package local

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// TestDetachedInstancesAreAdopted kills a detached deployer: its instances
// keep serving, and a new Compute on the same state directory adopts them,
// reports them, registers them, and stops them.
func TestDetachedInstancesAreAdopted(t *testing.T) {
	stateDir := t.TempDir()
	cmd, children := startHelper(t, stateDir)
	killHelper(t, cmd)
	t.Cleanup(func() {
		for _, pid := range children { // in case the test fails midway
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	env := helperEnv()

	ft := &fakeTargets{runningAt: map[string][]bool{}}
	c := newCompute(t, Options{StateDir: stateDir, Targets: ft})
	ft.c = c
	st := waitStatus(t, c, env, "adopted and ready", ready)
	if diff := cmp.Diff(bluegreen.Status{Desired: 3, Running: 3, Healthy: 3}, st); diff != "" {
		t.Errorf("Status of the adopted environment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(children, pids(c.Instances("web", bluegreen.SlotA))); diff != "" {
		t.Errorf("adopted pids (-helper's +adopted):\n%s", diff)
	}
	for _, addr := range c.Addrs("web", bluegreen.SlotA) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("an instance stopped serving when its deployer died: %v", err)
		}
		resp.Body.Close()
	}
	if len(ft.get()) != 1 {
		t.Errorf("SetTargets calls %q, want one registering the adopted instances", ft.get())
	}

	// ScaleUp is idempotent across deployers; the slot is taken for others.
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	other := env
	other.DeploymentID = "d2"
	if err := c.ScaleUp(t.Context(), other); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Errorf("ScaleUp of another deployment in the adopted slot = %v, want ErrFailedPrecondition", err)
	}
	if diff := cmp.Diff(children, pids(c.Instances("web", bluegreen.SlotA))); diff != "" {
		t.Errorf("pids after the ScaleUps (-before +after):\n%s", diff)
	}

	// Close of a detached Compute leaves the instances running...
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range children {
		if !alive(pid) {
			t.Fatalf("instance %d died with a detached Compute's Close", pid)
		}
	}
	// ...for the next one to scale down.
	c2 := newCompute(t, Options{StateDir: stateDir})
	if err := c2.ScaleDown(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	waitGone(t, children)
	if _, err := os.Stat(filepath.Join(stateDir, "web-A.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left after ScaleDown: %v", err)
	}
	if st, err := c2.Status(t.Context(), env); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("Status after ScaleDown = %+v, %v; want the zero Status", st, err)
	}
}

// TestAdoptedDeadInstances adopts an environment whose processes died while
// no deployer watched them: it has failed, and ScaleDown clears it.
func TestAdoptedDeadInstances(t *testing.T) {
	stateDir := t.TempDir()
	cmd, children := startHelper(t, stateDir)
	killHelper(t, cmd)
	for _, pid := range children {
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitGone(t, children)

	c := newCompute(t, Options{StateDir: stateDir})
	env := helperEnv()
	st := waitStatus(t, c, env, "failed", func(st bluegreen.Status) bool { return st.Failed })
	if st.Running != 0 || st.Healthy != 0 {
		t.Errorf("Status = %+v, want nothing running", st)
	}
	if want := "exited while no deployer watched it"; !strings.Contains(st.Reason, want) {
		t.Errorf("Reason %q does not say %q", st.Reason, want)
	}
	if err := c.ScaleDown(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "web-A.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left after ScaleDown: %v", err)
	}
	// The slot is free again.
	if err := c.ScaleUp(t.Context(), appEnv(t, bluegreen.SlotA, "d2", nil)); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptStateFile(t *testing.T) {
	stateDir := t.TempDir()
	path := filepath.Join(stateDir, "web-A.json")
	if err := os.WriteFile(path, []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCompute(t, Options{StateDir: stateDir})
	_, err := c.Status(t.Context(), helperEnv())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("Status with a corrupt state file = %v, want an error naming it and the fix", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{nope" {
		t.Errorf("the corrupt state file was changed to %q", b)
	}
}
