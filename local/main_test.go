//go:build unix

package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// appPath is the sample app (examples/app), built once for the test run.
var appPath string

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperModeEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	dir, err := os.MkdirTemp("", "local-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	appPath = filepath.Join(dir, "app")
	// Built without -race even when the tests have it: the app is a
	// fixture here, and a plain build starts faster.
	build := exec.Command("go", "build", "-o", appPath, "github.com/bluegreen-go/bluegreen/examples/app")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building examples/app: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	// Nothing may be left running, whatever the tests did.
	if leaked := running(appPath); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: instances left running after the tests: pids %v\n", leaked)
		for _, pid := range leaked {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// running returns the pids of live processes running the program at path,
// found through /proc (nothing outside Linux).
func running(path string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == path && sameProcess(pid, 0) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// appSpec runs the sample app with extra environment variables (such as
// FAIL_RATE or IGNORE_SIGTERM), readiness at /healthz, and short timeouts.
func appSpec(env map[string]string) Spec {
	return Spec{
		Command:     appPath,
		Env:         env,
		Readiness:   Readiness{Path: "/healthz", GracePeriod: Duration(20 * time.Second)},
		StopTimeout: Duration(5 * time.Second),
	}
}

func revision(t testing.TB, name string, s Spec) bluegreen.Revision {
	t.Helper()
	rev, err := s.Revision(name)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// newCompute returns a Compute logging to a temporary directory, closed
// when the test ends.
func newCompute(t *testing.T, opts Options) *Compute {
	t.Helper()
	if opts.LogDir == "" {
		opts.LogDir = t.TempDir()
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if opts.StateDir != "" {
			// Close of a detached Compute leaves its instances running, on
			// purpose; a test must not.
			c.mu.Lock()
			envs := slices.Collect(maps.Values(c.envs))
			c.mu.Unlock()
			for _, e := range envs {
				_ = c.scaleDown(context.Background(), e, false)
			}
		}
		c.Close()
	})
	return c
}

// waitStatus polls env's Status until cond holds, for up to 20 seconds.
func waitStatus(t *testing.T, c *Compute, env bluegreen.Environment, what string, cond func(bluegreen.Status) bool) bluegreen.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var st bluegreen.Status
	for {
		var err error
		if st, err = c.Status(ctx, env); err != nil && ctx.Err() == nil {
			t.Fatalf("Status(%v): %v", env, err)
		}
		if err == nil && cond(st) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%v: waited for %s; last status %+v", env, what, st)
		case <-tick.C:
		}
	}
}

func ready(st bluegreen.Status) bool { return st.Ready() }

// alive reports whether a process with this pid runs. A zombie does not:
// an instance whose deployer died is reparented to init, which may take its
// time to reap it (or, in some containers, never does).
func alive(pid int) bool {
	return sameProcess(pid, 0)
}

// waitGone polls until none of pids exists, for up to 10 seconds.
func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still exists", pid)
			}
			time.Sleep(10 * time.Millisecond) // polling the kernel: nothing to wait on
		}
	}
}

// The helper mode runs the test binary as a deployer process that starts
// an environment, prints its instances' pids, and waits to be killed.
const (
	helperModeEnv  = "LOCAL_TEST_HELPER"
	helperAppEnv   = "LOCAL_TEST_APP"
	helperLogEnv   = "LOCAL_TEST_LOGDIR"
	helperStateEnv = "LOCAL_TEST_STATEDIR" // set: detached mode
)

func runHelper(mode string) int {
	if mode != "deployer" {
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	appPath = os.Getenv(helperAppEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := New(Options{LogDir: os.Getenv(helperLogEnv), StateDir: os.Getenv(helperStateEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := helperEnv()
	if err := c.ScaleUp(ctx, env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		st, err := c.Status(ctx, env)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if st.Ready() {
			break
		}
		if st.Failed {
			fmt.Fprintln(os.Stderr, st.Reason)
			return 1
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, errors.New("not ready in time"))
			return 1
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, inst := range c.Instances("web", bluegreen.SlotA) {
		fmt.Println(inst.PID)
	}
	fmt.Println("ready")
	<-ctx.Done() // until killed
	return 1
}

// helperEnv is the environment the helper deployer starts.
func helperEnv() bluegreen.Environment {
	spec := appSpec(nil)
	spec.Instances = 3
	b, _ := json.Marshal(spec)
	return bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d1",
		Revision: bluegreen.Revision{Name: "web:1", Spec: b}}
}

// startHelper runs the helper deployer until its instances are ready and
// returns it with their pids; stateDir "" runs it attached.
func startHelper(t *testing.T, stateDir string) (*exec.Cmd, []int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperModeEnv+"=deployer", helperAppEnv+"="+appPath,
		helperLogEnv+"="+t.TempDir(), helperStateEnv+"="+stateDir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var children []int
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && lines.Text() != "ready" {
		pid, err := strconv.Atoi(lines.Text())
		if err != nil {
			t.Fatalf("helper said %q", lines.Text())
		}
		children = append(children, pid)
	}
	if len(children) != 3 {
		t.Fatalf("helper started %d instances, want 3", len(children))
	}
	for _, pid := range children {
		if !alive(pid) {
			t.Fatalf("instance %d is not running while its deployer lives", pid)
		}
	}
	return cmd, children
}

// killHelper kills the helper deployer with SIGKILL and reaps it.
func killHelper(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}
