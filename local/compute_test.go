//go:build unix

package local

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func appEnv(t *testing.T, slot bluegreen.Slot, id string, env map[string]string) bluegreen.Environment {
	return bluegreen.Environment{Service: "web", Slot: slot, DeploymentID: id, Revision: revision(t, "web:"+id, appSpec(env))}
}

func pids(insts []Instance) []int {
	var out []int
	for _, inst := range insts {
		out = append(out, inst.PID)
	}
	return out
}

// TestInstancesGetTheirEnvironment checks that each instance listens on the
// port it was given and sees its revision and index.
func TestInstancesGetTheirEnvironment(t *testing.T) {
	c := newCompute(t, Options{})
	env := appEnv(t, bluegreen.SlotA, "d1", nil)
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, env, "ready", ready)
	if diff := cmp.Diff(bluegreen.Status{Desired: 2, Running: 2, Healthy: 2}, st); diff != "" {
		t.Errorf("ready Status (-want +got):\n%s", diff)
	}
	addrs := c.Addrs("web", bluegreen.SlotA)
	if len(addrs) != 2 || addrs[0] == addrs[1] {
		t.Fatalf("Addrs = %q, want two distinct addresses", addrs)
	}
	for i, addr := range addrs {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := []string{string(body), resp.Header.Get("X-Instance")}
		if diff := cmp.Diff([]string{"web:d1\n", strconv.Itoa(i)}, got); diff != "" {
			t.Errorf("instance %d at %s: version and instance (-want +got):\n%s", i, addr, diff)
		}
	}
}

func TestCrashedInstanceIsUnhealthy(t *testing.T) {
	c := newCompute(t, Options{})
	env := appEnv(t, bluegreen.SlotB, "d1", nil)
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, env, "ready", ready)
	victim := c.Instances("web", bluegreen.SlotB)[1]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, env, "one instance down", func(st bluegreen.Status) bool { return st.Running == 1 })
	if st.Healthy != 1 || st.Failed || st.Ready() {
		t.Errorf("Status after instance 1 crashed = %+v; want 1 healthy, not ready, not failed", st)
	}
	for _, want := range []string{"instance 1", "killed by SIGKILL", victim.LogPath} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("Reason %q does not mention %q", st.Reason, want)
		}
	}
	if got := c.Instances("web", bluegreen.SlotB)[1]; got.Running || got.Exit != "killed by SIGKILL" {
		t.Errorf("Instances()[1] = %+v, want it exited, killed by SIGKILL", got)
	}

	// Once the last one dies too, the environment has failed.
	if err := syscall.Kill(c.Instances("web", bluegreen.SlotB)[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, c, env, "failed", func(st bluegreen.Status) bool { return st.Failed })
	if !strings.Contains(st.Reason, "all 2 instances exited") {
		t.Errorf("Reason %q, want it to say all instances exited", st.Reason)
	}
}

func TestFailingStart(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		grace      time.Duration
		wantReason []string
	}{
		{"exits at once", map[string]string{"CRASH_AFTER": "0s"}, 0,
			[]string{"exited with status 1 before it became healthy", ".log"}},
		{"never healthy", map[string]string{"UNHEALTHY": "1"}, 300 * time.Millisecond,
			[]string{"not healthy 300ms after it started", "503", ".log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCompute(t, Options{})
			spec := appSpec(tt.env)
			if tt.grace != 0 {
				spec.Readiness.GracePeriod = Duration(tt.grace)
			}
			env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "bad", Revision: revision(t, "web:bad", spec)}
			if err := c.ScaleUp(t.Context(), env); err != nil {
				t.Fatal(err)
			}
			st := waitStatus(t, c, env, "failed", func(st bluegreen.Status) bool {
				if st.Ready() {
					t.Fatalf("the failing revision became ready: %+v", st)
				}
				return st.Failed
			})
			for _, want := range tt.wantReason {
				if !strings.Contains(st.Reason, want) {
					t.Errorf("Reason %q does not mention %q", st.Reason, want)
				}
			}
			if err := c.ScaleDown(t.Context(), env); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStopEscalatesToSIGKILL stops an app that ignores SIGTERM: it must be
// killed once the stop timeout has passed, and not before.
func TestStopEscalatesToSIGKILL(t *testing.T) {
	c := newCompute(t, Options{})
	const stopTimeout = 300 * time.Millisecond
	spec := appSpec(map[string]string{"IGNORE_SIGTERM": "1"})
	spec.StopTimeout = Duration(stopTimeout)
	spec.Instances = 1
	env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d1", Revision: revision(t, "web:1", spec)}
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, env, "ready", ready)
	inst := c.Instances("web", bluegreen.SlotA)[0]

	start := time.Now()
	if err := c.ScaleDown(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < stopTimeout {
		t.Errorf("ScaleDown took %v: it killed the instance before the %v stop timeout", took, stopTimeout)
	}
	waitGone(t, []int{inst.PID})
	logs, err := os.ReadFile(inst.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "killed by SIGKILL") {
		t.Errorf("log does not record the kill:\n%s", logs)
	}
}

// TestGracefulStop stops an app that handles SIGTERM: it exits by itself,
// long before the stop timeout, after finishing its requests in flight.
func TestGracefulStop(t *testing.T) {
	c := newCompute(t, Options{StopTimeout: 20 * time.Second})
	env := appEnv(t, bluegreen.SlotA, "d1", nil)
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, env, "ready", ready)
	insts := c.Instances("web", bluegreen.SlotA)

	// A slow request in flight when SIGTERM arrives still gets its answer.
	// With flush, the headers arrive at once: then the request is in flight.
	resp, err := http.Get("http://" + insts[0].Addr + "/slow?d=500ms&flush")
	if err != nil {
		t.Fatal(err)
	}
	slow := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			slow <- err.Error()
			return
		}
		slow <- resp.Status + " " + string(b)
	}()

	start := time.Now()
	if err := c.ScaleDown(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("ScaleDown took %v: the app did not exit on SIGTERM", took)
	}
	if got := <-slow; got != "200 OK web:d1 slept 500ms\n" {
		t.Errorf("request in flight during the stop got %q", got)
	}
	waitGone(t, pids(insts))
	logs, err := os.ReadFile(insts[0].LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "exited with status 0") {
		t.Errorf("log does not record a clean exit:\n%s", logs)
	}
}

func TestLogFiles(t *testing.T) {
	dir := t.TempDir()
	c := newCompute(t, Options{LogDir: dir})
	env := appEnv(t, bluegreen.SlotB, "d/1", nil) // a deployment id unfit for a file name
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, env, "ready", ready)
	insts := c.Instances("web", bluegreen.SlotB)
	if err := c.ScaleDown(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	for i, inst := range insts {
		want := dir + "/web-B-d_1-" + strconv.Itoa(i) + ".log"
		if inst.LogPath != want {
			t.Errorf("instance %d logs to %s, want %s", i, inst.LogPath, want)
		}
		b, err := os.ReadFile(inst.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		logs := string(b)
		for _, line := range []string{
			"bluegreen-local: starting web:d/1 instance " + strconv.Itoa(i) + " on " + inst.Addr,
			`msg=listening addr=` + inst.Addr, // the app's own stderr
			"msg=stopped",
			"exited with status 0",
		} {
			if !strings.Contains(logs, line) {
				t.Errorf("log of instance %d lacks %q:\n%s", i, line, logs)
			}
		}
	}
}

// TestCloseStopsEverything starts several environments and checks that no
// process is left after Close.
func TestCloseStopsEverything(t *testing.T) {
	c, err := New(Options{LogDir: t.TempDir(), StopTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stubborn := appSpec(map[string]string{"IGNORE_SIGTERM": "1"})
	stubborn.StopTimeout = 0 // the Options' 200ms
	var all []int
	for _, env := range []bluegreen.Environment{
		appEnv(t, bluegreen.SlotA, "d1", nil),
		{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "d2", Revision: revision(t, "web:2", stubborn)},
		{Service: "api", Slot: bluegreen.SlotA, DeploymentID: "d3", Revision: revision(t, "api:1", appSpec(nil))},
	} {
		if err := c.ScaleUp(t.Context(), env); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, env, "ready", ready)
		all = append(all, pids(c.Instances(env.Service, env.Slot))...)
	}
	if len(all) != 6 {
		t.Fatalf("%d processes started, want 6", len(all))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range all {
		if alive(pid) {
			t.Errorf("process %d still exists after Close", pid)
		}
	}
	err = c.ScaleUp(t.Context(), appEnv(t, bluegreen.SlotA, "d4", nil))
	if !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Errorf("ScaleUp after Close = %v, want ErrFailedPrecondition", err)
	}
}

// TestDeployerDeathKillsInstances runs a deployer in another process,
// kills it with SIGKILL, and checks that its instances die with it.
func TestDeployerDeathKillsInstances(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("the parent-death signal is Linux only")
	}
	cmd, children := startHelper(t, "")
	killHelper(t, cmd)
	// The instances are not our children: once killed they are reaped by
	// init, and kill(pid, 0) fails.
	waitGone(t, children)
}

// fakeTargets records SetTargets calls, and whether the instances were
// still running when their addresses were removed.
type fakeTargets struct {
	c *Compute

	mu        sync.Mutex
	calls     []string
	fail      error
	runningAt map[string][]bool // per removal call, which instances were alive
}

func (f *fakeTargets) SetTargets(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, service+"/"+string(slot)+"="+strings.Join(addrs, ","))
	if addrs == nil {
		var running []bool
		for _, inst := range f.c.Instances(service, slot) {
			running = append(running, inst.Running)
		}
		f.runningAt[service+"/"+string(slot)] = running
	}
	return f.fail
}

func (f *fakeTargets) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func TestTargets(t *testing.T) {
	ft := &fakeTargets{runningAt: map[string][]bool{}}
	c := newCompute(t, Options{Targets: ft})
	ft.c = c
	env := appEnv(t, bluegreen.SlotA, "d1", nil)
	if err := c.ScaleUp(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	if calls := ft.get(); len(calls) != 0 {
		t.Errorf("SetTargets called before the instances were healthy: %q", calls)
	}
	waitStatus(t, c, env, "ready", ready)
	for range 3 { // more Status calls register nothing more
		if _, err := c.Status(t.Context(), env); err != nil {
			t.Fatal(err)
		}
	}
	registered := "web/A=" + strings.Join(c.Addrs("web", bluegreen.SlotA), ",")
	if diff := cmp.Diff([]string{registered}, ft.get()); diff != "" {
		t.Errorf("SetTargets calls once ready (-want +got):\n%s", diff)
	}

	// A router that cannot drain: nothing may be stopped.
	ft.mu.Lock()
	ft.fail = errors.New("proxy unreachable")
	ft.mu.Unlock()
	if err := c.ScaleDown(t.Context(), env); err == nil || !strings.Contains(err.Error(), "proxy unreachable") {
		t.Fatalf("ScaleDown with a failing router = %v, want its error", err)
	}
	if st, err := c.Status(t.Context(), env); err != nil || !st.Ready() {
		t.Fatalf("after a failed ScaleDown, Status = %+v, %v; want it still ready", st, err)
	}

	ft.mu.Lock()
	ft.fail = nil
	ft.mu.Unlock()
	insts := c.Instances("web", bluegreen.SlotA)
	if err := c.ScaleDown(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	want := []string{registered, "web/A=", "web/A="}
	if diff := cmp.Diff(want, ft.get()); diff != "" {
		t.Errorf("SetTargets calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true}, ft.runningAt["web/A"]); diff != "" {
		t.Errorf("instances running while their addresses were removed (-want +got):\n%s", diff)
	}
	waitGone(t, pids(insts))
}

func TestScaleUpErrors(t *testing.T) {
	c := newCompute(t, Options{})
	running := appEnv(t, bluegreen.SlotA, "d1", nil)
	if err := c.ScaleUp(t.Context(), running); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       bluegreen.Environment
		wantCode  bluegreen.Code
		wantField string
		wantText  string
	}{
		{"slot taken", appEnv(t, bluegreen.SlotA, "d2", nil), bluegreen.CodeFailedPrecondition, "", `runs web:d1 of deployment "d1"`},
		{"path traversal", bluegreen.Environment{Service: "x/../../etc", Slot: bluegreen.SlotB, Revision: running.Revision},
			bluegreen.CodeInvalid, "Environment.Service", "path separator"},
		{"bad slot", bluegreen.Environment{Service: "web", Slot: "C", Revision: running.Revision},
			bluegreen.CodeInvalid, "Environment.Slot", `"C"`},
		{"no spec", bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:1"}},
			bluegreen.CodeInvalid, "Revision.Spec", "empty"},
		{"command not found", bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB,
			Revision: bluegreen.Revision{Name: "web:1", Spec: []byte(`{"command":"/nonexistent/app"}`)}},
			bluegreen.CodeInvalid, "", "/nonexistent/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.ScaleUp(t.Context(), tt.env)
			if code := bluegreen.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("ScaleUp = %v, want code %v", err, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			var ce *bluegreen.ConfigError
			if tt.wantField != "" && (!errors.As(err, &ce) || ce.Field != tt.wantField) {
				t.Errorf("error %v does not name the field %s", err, tt.wantField)
			}
		})
	}
	if got := c.Instances("web", bluegreen.SlotB); got != nil {
		t.Errorf("a failed ScaleUp left instances behind: %+v", got)
	}
}

// TestConcurrentScaleUpAndDown races callers on one environment: one copy
// starts, and every ScaleDown succeeds once it is gone.
func TestConcurrentScaleUpAndDown(t *testing.T) {
	c := newCompute(t, Options{})
	env := appEnv(t, bluegreen.SlotA, "d1", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() { errs <- c.ScaleUp(t.Context(), env) })
	}
	wg.Wait()
	waitStatus(t, c, env, "ready", ready)
	insts := c.Instances("web", bluegreen.SlotA)
	if len(insts) != 2 {
		t.Fatalf("4 concurrent ScaleUps started %d instances, want 2", len(insts))
	}
	for range 4 {
		wg.Go(func() { errs <- c.ScaleDown(t.Context(), env) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, pid := range pids(insts) {
		if alive(pid) {
			t.Errorf("process %d still exists after ScaleDown returned", pid)
		}
	}
	if st, err := c.Status(t.Context(), env); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("Status after ScaleDown = %+v, %v; want the zero Status", st, err)
	}
}
