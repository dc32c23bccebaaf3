package bluegreen_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/local/filestore"
)

// holderEnv makes the test binary a deploying process that holds a
// deployment of "web" (paused) in the file store in the directory it names.
const holderEnv = "BLUEGREEN_TEST_HOLDER_DIR"

func init() {
	if dir := os.Getenv(holderEnv); dir != "" {
		os.Exit(holdDeployment(dir))
	}
}

func holdDeployment(dir string) int {
	store, err := filestore.Open(dir, nil)
	if err != nil {
		return 2
	}
	d, err := bluegreen.New(bluegreen.Config{
		Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
		Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		Store:   store, Owner: "holder-process", LeaseTTL: 2 * time.Second,
		Hooks: []bluegreen.LifecycleHook{{Name: "hold", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}},
	})
	if err != nil {
		return 2
	}
	dep, err := d.Start(context.Background(), "web", bluegreen.Revision{Name: "web:1"})
	if err != nil {
		return 3
	}
	for ev := range dep.Events(context.Background()) {
		if ev.Kind == bluegreen.EventPaused {
			os.Stdout.WriteString("held\n")
		}
	}
	return 0
}

// TestOneDeploymentAcrossProcesses: a second process deploying a service
// that another process is deploying is refused with an error naming the
// holder; once the holder dies (SIGKILL) and its lease lapses, the service is
// taken over and the dead owner's deployment settled.
func TestOneDeploymentAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "held" {
		t.Fatalf("holder said %q, %v", line, err)
	}

	store, err := filestore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := bluegreen.New(bluegreen.Config{
		Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
		Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		Store:   store, Owner: "second-process",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Start(t.Context(), "web", rev("web:2"))
	var ip *bluegreen.InProgressError
	if !errors.As(err, &ip) || ip.Holder != "holder-process" || !errors.Is(err, bluegreen.ErrInProgress) {
		t.Fatalf("Start while another process deploys: %v, want an InProgressError naming holder-process", err)
	}
	t.Logf("refused as expected: %v", err)

	// The holder dies holding the lease; after it lapses the service is ours.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := d.Deploy(t.Context(), "web", rev("web:2"))
		if err == nil {
			if res.Live == nil || res.Live.Revision.Name != "web:2" {
				t.Errorf("result %+v", res)
			}
			break
		}
		if !errors.Is(err, bluegreen.ErrInProgress) || time.Now().After(deadline) {
			t.Fatalf("Deploy after the holder died: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // real time: the lease lapses by the wall clock
	}
	st, err := bluegreen.ReadState(t.Context(), store, "web")
	if err != nil {
		t.Fatal(err)
	}
	if st.LeaseOwner != "" || st.Live == nil || st.Live.Revision.Name != "web:2" || !st.Deployment.Finished {
		t.Errorf("record after take-over: lease %q live %v deployment %+v", st.LeaseOwner, st.Live, st.Deployment)
	}
}
