package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/procfs"
)

// Package local holds each detached instance at a gate until its pid is in
// the state file, so a deploy command killed while instances start leaves
// none unrecorded. The sweep is a second line of defence against instance
// processes no deployment owns (a pid file lost by hand, an instance's own
// children, a future bug): a process that no later Compute would adopt
// would never be stopped. It finds
// such orphans: processes whose standard output is a log file in -state's
// logs directory, and whose environment names the service and a deployment
// that the store records neither as live nor in flight. It kills them. It
// reads /proc, so it works on Linux and does nothing elsewhere.

// orphan is an instance process that no deployment owns.
type orphan struct {
	PID          int            `json:"pid"`
	Slot         bluegreen.Slot `json:"slot"`
	DeploymentID string         `json:"deploymentId"`
	Log          string         `json:"log"`
	pgid         int
}

// findOrphans lists the instances of service whose output goes to logDir
// and whose deployment is neither live nor in flight in st.
func findOrphans(ctx context.Context, st bluegreen.Store, service, logDir string) ([]orphan, error) {
	// Processes first, then the record: a deployment persists itself as in
	// flight before it starts processes, so a process seen here belongs to
	// a deployment the record read next knows, as in flight or finished.
	procs := logHolders(logDir, service)
	if len(procs) == 0 {
		return nil, nil
	}
	rec, err := bluegreen.ReadState(ctx, st, service)
	if err != nil {
		return nil, err
	}
	owned := map[string]bool{}
	if rec.Live != nil {
		owned[rec.Live.DeploymentID] = true
	}
	if d := rec.Deployment; d != nil && !d.Finished {
		owned[d.ID] = true
	}
	var out []orphan
	for _, p := range procs {
		if !owned[p.DeploymentID] {
			out = append(out, p)
		}
	}
	return out, nil
}

// logHolders lists the live instances of service whose standard output is
// a log in logDir: processes of this state directory, whose environment
// (set by package local) names their service, slot and deployment.
func logHolders(logDir, service string) []orphan {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []orphan
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink("/proc/" + e.Name() + "/fd/1")
		if err != nil || filepath.Dir(link) != logDir {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		vars := map[string]string{}
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			if k, v, ok := strings.Cut(string(kv), "="); ok && strings.HasPrefix(k, "BLUEGREEN_") {
				vars[k] = v
			}
		}
		id := vars["BLUEGREEN_DEPLOYMENT_ID"]
		if vars["BLUEGREEN_SERVICE"] != service || id == "" {
			continue
		}
		st, ok := procfs.ReadStat(pid)
		if !ok || st.Zombie() {
			continue
		}
		pgid := st.PGID
		out = append(out, orphan{PID: pid, Slot: bluegreen.Slot(vars["BLUEGREEN_SLOT"]), DeploymentID: id, Log: link, pgid: pgid})
	}
	return out
}
