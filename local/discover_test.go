//go:build unix

package local

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/procfs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDiscover finds what runs for a service: in this Compute, and in a
// state directory left by another one (brownfield). What it finds, Status
// and ScaleDown of the same Compute act on, although it did not create
// those deployments.
func TestDiscover(t *testing.T) {
	type world struct {
		c    *Compute
		ft   *fakeTargets // c's Targets
		pids []int        // processes the case started, to check ScaleDown stops them
	}
	readyStatus := func(n int) bluegreen.Status { return bluegreen.Status{Desired: n, Running: n, Healthy: n} }
	tests := []struct {
		name string
		// setup returns the Compute to ask, and the environments it should
		// find, with their Status but for its Reason.
		setup      func(t *testing.T) (world, []bluegreen.Found)
		wantReason []string // in every Found's Reason
		wantErr    []string // in Discover's error, if it must fail
		// Once Discover has found them, Status of the environments found
		// reports this, and ScaleDown removes them.
		wantStatus  func(bluegreen.Found) bluegreen.Status
		stopsAlive  bool // ScaleDown stops world.pids, which run until then
		statusCalls int  // SetTargets calls once Status has seen the found environments
	}{
		{
			name: "nothing runs",
			setup: func(t *testing.T) (world, []bluegreen.Found) {
				return world{c: newCompute(t, Options{StateDir: t.TempDir()})}, nil
			},
		},
		{
			name: "started by this Compute, both slots",
			setup: func(t *testing.T) (world, []bluegreen.Found) {
				ft := &fakeTargets{runningAt: map[string][]bool{}}
				c := newCompute(t, Options{Targets: ft})
				ft.c = c
				a, b := appEnv(t, bluegreen.SlotA, "d1", nil), appEnv(t, bluegreen.SlotB, "d2", nil)
				for _, env := range []bluegreen.Environment{a, b} {
					if err := c.ScaleUp(t.Context(), env); err != nil {
						t.Fatal(err)
					}
					waitStatus(t, c, env, "ready", ready) // registers it
				}
				w := world{c: c, ft: ft, pids: append(pids(c.Instances("web", "A")), pids(c.Instances("web", "B"))...)}
				return w, []bluegreen.Found{{Environment: a, Status: readyStatus(2)}, {Environment: b, Status: readyStatus(2)}}
			},
			wantStatus:  func(bluegreen.Found) bluegreen.Status { return readyStatus(2) },
			stopsAlive:  true,
			statusCalls: 2, // the registrations by waitStatus
		},
		{
			name: "brownfield: detached by a previous Compute",
			setup: func(t *testing.T) (world, []bluegreen.Found) {
				stateDir := t.TempDir()
				previous := newCompute(t, Options{StateDir: stateDir})
				env := appEnv(t, bluegreen.SlotB, "from-before", nil)
				if err := previous.ScaleUp(t.Context(), env); err != nil {
					t.Fatal(err)
				}
				waitStatus(t, previous, env, "ready", ready)
				started := pids(previous.Instances("web", bluegreen.SlotB))
				if err := previous.Close(); err != nil { // detached: leaves them running
					t.Fatal(err)
				}
				ft := &fakeTargets{runningAt: map[string][]bool{}}
				c := newCompute(t, Options{StateDir: stateDir, Targets: ft})
				ft.c = c
				return world{c: c, ft: ft, pids: started}, []bluegreen.Found{{Environment: env, Status: readyStatus(2)}}
			},
			wantStatus:  func(bluegreen.Found) bluegreen.Status { return readyStatus(2) },
			stopsAlive:  true,
			statusCalls: 1, // Status registers what Discover found, once
		},
		{
			name: "brownfield: recorded processes are gone or are someone else's",
			setup: func(t *testing.T) (world, []bluegreen.Found) {
				self, ok := procfs.ReadStat(os.Getpid())
				if !ok {
					t.Skip("cannot read process start times here, and this case records this process's pid")
				}
				gone := exec.Command(appPath, "-h")
				_ = gone.Run() // exits at once; its pid is then free
				stateDir := t.TempDir()
				env := appEnv(t, bluegreen.SlotA, "lost", nil)
				writeState(t, stateDir, envState{
					Environment: env,
					StopTimeout: Duration(time.Second),
					Instances: []instanceState{
						// This test's own pid, recorded with another start
						// time: a reused pid, which must be neither
						// reported running nor signaled.
						{Index: 0, PID: os.Getpid(), Port: 1, LogPath: "/logs/web-A-lost-0.log", ProcStart: self.StartTicks + 1},
						{Index: 1, PID: gone.Process.Pid, Port: 2, LogPath: "/logs/web-A-lost-1.log", ProcStart: 1},
					},
				})
				c := newCompute(t, Options{StateDir: stateDir})
				return world{c: c}, []bluegreen.Found{{Environment: env, Status: bluegreen.Status{Desired: 2, Failed: true}}}
			},
			wantReason: []string{"all 2 instances exited", "exited while no deployer watched it", "/logs/web-A-lost-0.log"},
			wantStatus: func(f bluegreen.Found) bluegreen.Status { return f.Status },
		},
		{
			name: "corrupt state file",
			setup: func(t *testing.T) (world, []bluegreen.Found) {
				stateDir := t.TempDir()
				if err := os.WriteFile(filepath.Join(stateDir, "web-B.json"), []byte(`{"environment":`), 0o600); err != nil {
					t.Fatal(err)
				}
				return world{c: newCompute(t, Options{StateDir: stateDir})}, nil
			},
			wantErr: []string{"web-B.json", "corrupt", "remove it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, want := tt.setup(t)
			var registered []string
			if w.ft != nil {
				registered = w.ft.get()
			}
			found, err := w.c.Discover(t.Context(), "web")
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Discover = %+v, want an error", found)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Discover error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range found {
				for _, s := range tt.wantReason {
					if !strings.Contains(f.Status.Reason, s) {
						t.Errorf("Reason %q does not mention %q", f.Status.Reason, s)
					}
				}
			}
			if diff := cmp.Diff(want, found, cmpopts.IgnoreFields(bluegreen.Status{}, "Reason"), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("Discover (-want +got):\n%s", diff)
			}
			if w.ft != nil {
				if diff := cmp.Diff(registered, w.ft.get()); diff != "" {
					t.Errorf("SetTargets calls made by Discover, which only looks (-before +after):\n%s", diff)
				}
			}

			for _, f := range found {
				// Another deployment's id finds nothing, and stops nothing.
				other := f.Environment
				other.DeploymentID = "someone-else"
				if st, err := w.c.Status(t.Context(), other); err != nil || st != (bluegreen.Status{}) {
					t.Errorf("Status with another DeploymentID = %+v, %v; want the zero Status", st, err)
				}
				if err := w.c.ScaleDown(t.Context(), other); err != nil {
					t.Fatal(err)
				}
				st, err := w.c.Status(t.Context(), f.Environment)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantStatus(f), st, cmpopts.IgnoreFields(bluegreen.Status{}, "Reason")); diff != "" {
					t.Errorf("Status of %v found (-want +got):\n%s", f.Environment, diff)
				}
			}
			if w.ft != nil && len(w.ft.get()) != tt.statusCalls {
				t.Errorf("SetTargets calls after Status = %q, want %d", w.ft.get(), tt.statusCalls)
			}
			if tt.stopsAlive {
				for _, pid := range w.pids {
					if !alive(pid) {
						t.Fatalf("instance %d died before ScaleDown", pid)
					}
				}
			}
			for _, f := range found {
				if err := w.c.ScaleDown(t.Context(), f.Environment); err != nil {
					t.Fatal(err)
				}
			}
			waitGone(t, w.pids)
			if again, err := w.c.Discover(t.Context(), "web"); err != nil || len(again) != 0 {
				t.Errorf("Discover after ScaleDown = %+v, %v; want nothing", again, err)
			}
			if w.c.stateDir != "" {
				if left, _ := filepath.Glob(filepath.Join(w.c.stateDir, "web-*")); len(left) != 0 {
					t.Errorf("state files left after ScaleDown: %q", left)
				}
			}
		})
	}
}

// writeState writes the state file an earlier Compute would have written.
func writeState(t *testing.T, stateDir string, st envState) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(stateDir, st.Environment.Service+"-"+string(st.Environment.Slot)+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverBadService(t *testing.T) {
	c := newCompute(t, Options{})
	for _, service := range []string{"", "../x", ".hidden"} {
		if _, err := c.Discover(t.Context(), service); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("Discover(%q) = %v, want ErrInvalid", service, err)
		}
	}
}
