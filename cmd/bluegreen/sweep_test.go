//go:build unix

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

// TestFindOrphans starts stand-ins for instances (sleep, with the output
// and environment package local gives instances) and checks which ones the
// sweep takes for orphans, for each state of the record.
func TestFindOrphans(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd/1"); err != nil {
		t.Skip("needs /proc")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs sleep(1)")
	}
	logDir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	start := func(dir, service, id string) int {
		t.Helper()
		f, err := os.Create(filepath.Join(dir, service+"-B-"+id+"-0.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(sleep, "60")
		cmd.Env = []string{"BLUEGREEN_SERVICE=" + service, "BLUEGREEN_SLOT=B", "BLUEGREEN_DEPLOYMENT_ID=" + id}
		cmd.Stdout = f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	old := start(logDir, "web", "old")   // a deployment that ended
	live := start(logDir, "web", "live") // the live environment's
	start(logDir, "web", "flying")       // the deployment in flight
	start(logDir, "web-2", "old")        // another service's
	start(otherDir, "web", "old")        // another state directory's

	st := bluegreen.NewMemoryStore()
	ctx := t.Context()
	// The Deployer's state document, as it writes it, with "flying" in flight.
	state := func(phase string) json.RawMessage {
		live := `{"service":"web","slot":"A","revision":{"name":"v1"},"deploymentId":"live"}`
		return json.RawMessage(`{"format":1,"live":` + live + `,"deployment":{"id":"flying","phase":"` + phase + `","blue":` + live +
			`,"green":{"service":"web","slot":"B","revision":{"name":"v2"},"deploymentId":"flying"},"routes":{"production":{"a":1000,"b":0}}}}`)
	}
	rec := driver.Record{Service: "web", Unfinished: true, State: state("RUNNING")}
	if _, err := st.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := findOrphans(ctx, st, "web", logDir)
	if err != nil {
		t.Fatal(err)
	}
	want := []orphan{{PID: old, Slot: bluegreen.SlotB, DeploymentID: "old", Log: filepath.Join(logDir, "web-B-old-0.log")}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(orphan{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".pgid" }, cmp.Ignore())); diff != "" {
		t.Errorf("orphans (-want +got):\n%s", diff)
	}

	// Once the deployment in flight has finished, its processes are orphans
	// too (had it succeeded, it would be live).
	rec, _ = st.Load(ctx, "web")
	rec.State, rec.Unfinished = state("ROLLED_BACK"), false
	if _, err := st.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err = findOrphans(ctx, st, "web", logDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].DeploymentID == "live" || got[1].DeploymentID == "live" {
		t.Fatalf("orphans after the rollback: %+v, want those of old and flying", got)
	}
	sweep(got)
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := findOrphans(ctx, st, "web", logDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphans left after the sweep: %+v", left)
		}
		time.Sleep(10 * time.Millisecond) // the kernel reaps asynchronously; bounded by the deadline
	}
	if syscall.Kill(live, 0) != nil {
		t.Error("the sweep killed the live environment's instance")
	}
}
