//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/local"
	"github.com/bluegreen-go/bluegreen/local/filestore"
	"github.com/bluegreen-go/bluegreen/proxy/admin"
)

// world is one proxy daemon with a state directory, serving one service.
type world struct {
	t        *testing.T
	dir      string // short: it holds the admin socket
	admin    string // "unix:<dir>/admin.sock"
	prodURL  string
	state    string // the CLI's -state
	service  string
	leaseTTL time.Duration
	bins     bins
	client   *admin.Client
}

// newWorld starts a proxy daemon, and arranges for it, every CLI and every
// instance to be killed when the test ends.
func newWorld(t *testing.T, leaseTTL time.Duration) *world {
	t.Helper()
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc to find the instances the deploy command leaves running")
	}
	b := programs(t)
	dir, err := os.MkdirTemp("", "bgcli") // t.TempDir is too long for a socket path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w := &world{t: t, dir: dir, admin: "unix:" + filepath.Join(dir, "admin.sock"), state: filepath.Join(dir, "state"),
		service: "web", leaseTTL: leaseTTL, bins: b}
	t.Cleanup(w.killInstances) // runs after the daemon's cleanup: instances last

	cmd := exec.Command(b.proxy, "-listen", "127.0.0.1:0", "-test-listen", "off", "-admin", w.admin,
		"-state", filepath.Join(dir, "proxy.json"), "-health-path", "/healthz", "-health-interval", "200ms",
		"-drain-delay", "5s", "-log-level", "info")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listener=prod addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		w.prodURL = "http://" + a + "/"
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy daemon did not report its production listener within 10s")
	}
	w.client, err = admin.NewClient(admin.ClientOptions{Addr: w.admin})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// deployArgs are the arguments of a deploy of revision rev, then extra flags.
func (w *world) deployArgs(rev string, extra ...string) []string {
	args := []string{"deploy", "-service", w.service, "-proxy-admin", w.admin, "-state", w.state, "-revision", rev,
		"-instances", "2", "-health-path", "/healthz", "-lease-ttl", w.leaseTTL.String(), "-stop-timeout", "5s"}
	args = append(args, extra...)
	return append(args, "--", w.bins.app)
}

func (w *world) reconcileArgs() []string {
	return []string{"reconcile", "-service", w.service, "-proxy-admin", w.admin, "-state", w.state, "-lease-ttl", w.leaseTTL.String()}
}

// mustRun runs the command to its end and fails the test unless it exits with want.
func (w *world) mustRun(want int, args ...string) *cli {
	w.t.Helper()
	c := w.start(args...)
	if code := c.wait(w.t, 60*time.Second); code != want {
		w.t.Fatalf("bluegreen %s exited %d, want %d:\n%s", args[0], code, want, c.stderr())
	}
	return c
}

// waitLeaseExpired waits until the service's lease is free or has expired,
// as it does once the owner that took it is dead for longer than the TTL.
func (w *world) waitLeaseExpired() {
	w.t.Helper()
	st := w.store()
	deadline := time.Now().Add(w.leaseTTL + 10*time.Second)
	for {
		rec, err := st.Load(w.t.Context(), w.service)
		if err != nil {
			w.t.Fatal(err)
		}
		if !rec.Lease.HeldByOther("", time.Now()) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the lease of %s, held by %q until %v, has not expired", w.service, rec.Lease.Owner, rec.Lease.Expires)
		}
		time.Sleep(25 * time.Millisecond) // polling a file; the deadline bounds it
	}
}

func (w *world) store() *filestore.Store {
	w.t.Helper()
	st, err := filestore.Open(filepath.Join(w.state, storeDir), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// settled checks that the service is in a consistent, settled state and
// returns its live environment and every way it is not.
func (w *world) settled() (*bluegreen.Environment, []string) {
	ctx := w.t.Context()
	var bad []string
	rec, err := bluegreen.ReadState(ctx, w.store(), w.service)
	if err != nil {
		return nil, []string{"store: " + err.Error()}
	}
	if rec.LeaseOwner != "" {
		bad = append(bad, fmt.Sprintf("lease not released: held by %q until %v", rec.LeaseOwner, rec.LeaseExpires))
	}
	if d := rec.Deployment; d == nil || !d.Finished {
		bad = append(bad, fmt.Sprintf("deployment not finished: %+v", d))
	}
	live := rec.Live
	if live == nil {
		return nil, append(bad, "no live environment recorded")
	}
	routes, err := w.client.Routes(ctx, w.service)
	if err != nil {
		return live, append(bad, "routes: "+err.Error())
	}
	if want := (bluegreen.Routes{Production: bluegreen.AllTo(live.Slot), Test: live.Slot}); routes != want {
		bad = append(bad, fmt.Sprintf("the proxy routes %v, want %v (all to live %v)", routes, want, live))
	}

	compute, err := local.New(local.Options{StateDir: filepath.Join(w.state, instancesDir), LogDir: filepath.Join(w.dir, "test-logs")})
	if err != nil {
		return live, append(bad, err.Error())
	}
	defer compute.Close() // detached: stops nothing
	liveInsts := compute.Instances(w.service, live.Slot)
	if spec, err := local.ParseSpec(live.Revision); err != nil || len(liveInsts) != spec.Instances {
		bad = append(bad, fmt.Sprintf("live %v has %d instances recorded, want %d (%v)", live, len(liveInsts), spec.Instances, err))
	}
	var livePIDs []int
	var addrs []string
	for _, in := range liveInsts {
		if !in.Running {
			bad = append(bad, fmt.Sprintf("live instance %d (pid %d) is not running: %s", in.Index, in.PID, in.Exit))
		}
		livePIDs = append(livePIDs, in.PID)
		addrs = append(addrs, "http://"+in.Addr)
	}
	slices.Sort(livePIDs)
	slices.Sort(addrs)
	if other := compute.Instances(w.service, live.Slot.Other()); len(other) > 0 {
		bad = append(bad, fmt.Sprintf("slot %s still has instances recorded: %+v", live.Slot.Other(), other))
	}
	if alive := w.instancePIDs(); !slices.Equal(alive, livePIDs) {
		bad = append(bad, fmt.Sprintf("instances alive %v, want only the live environment's %v", alive, livePIDs))
	}

	targets, err := w.client.Targets(ctx, w.service, live.Slot)
	if err != nil {
		return live, append(bad, "targets: "+err.Error())
	}
	var got []string
	for _, tg := range targets {
		got = append(got, tg.Addr)
	}
	slices.Sort(got)
	if !slices.Equal(got, addrs) {
		bad = append(bad, fmt.Sprintf("the proxy's targets of live slot %s are %v, want %v", live.Slot, got, addrs))
	}
	if other, err := w.client.Targets(ctx, w.service, live.Slot.Other()); err != nil || len(other) > 0 {
		bad = append(bad, fmt.Sprintf("the proxy still has targets in slot %s: %v %v", live.Slot.Other(), other, err))
	}
	served, err := w.versionsServed(ctx, 20)
	if err != nil || len(served) != 1 || served[live.Revision.Name] != 20 {
		bad = append(bad, fmt.Sprintf("20 requests were served by %v (%v), want all by live %s", served, err, live.Revision.Name))
	}
	return live, bad
}

// mustBeSettled fails the test unless the service is settled with want live.
func (w *world) mustBeSettled(want string) {
	w.t.Helper()
	live, bad := w.settled()
	for _, b := range bad {
		w.t.Error(b)
	}
	if live == nil || live.Revision.Name != want {
		w.t.Errorf("live environment %v, want %s", live, want)
	}
}

// instancePIDs lists, sorted, the live processes of the service that CLI
// children of this world started, found by their environment.
func (w *world) instancePIDs() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		env, err := os.ReadFile("/proc/" + pid + "/environ")
		if err != nil || !bytes.Contains(env, []byte("\x00"+markerVar+"="+w.dir+"\x00")) ||
			!bytes.Contains(env, []byte("\x00BLUEGREEN_SERVICE="+w.service+"\x00")) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue // a zombie: dead, waiting for its new parent to reap it
			}
		}
		n, err := strconv.Atoi(pid)
		if err == nil {
			pids = append(pids, n)
		}
	}
	slices.Sort(pids)
	return pids
}

// killInstances kills every instance the world's commands started.
func (w *world) killInstances() {
	for _, pid := range w.instancePIDs() {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // each instance leads its own group
	}
}

// versionsServed sends n requests through the proxy and counts the versions
// that answered.
func (w *world) versionsServed(ctx context.Context, n int) (map[string]int, error) {
	got := map[string]int{}
	c := newLoad(w.prodURL)
	for range n {
		v, err := c.once(ctx)
		if err != nil {
			return got, err
		}
		got[v]++
	}
	return got, nil
}
