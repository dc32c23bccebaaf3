package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/procfs"
)

// Detached mode (Options.StateDir) lets instances outlive the deployer, so
// that a short-lived deploy command can leave green running behind a
// long-running proxy, and a later deploy command can find it there. Each
// running environment has a state file in StateDir recording its
// instances; a Compute that is asked about an environment it did not start
// reads that file and adopts the instances that still run.

// envState is the content of an environment's state file.
type envState struct {
	Environment bluegreen.Environment `json:"environment"`
	StopTimeout Duration              `json:"stopTimeout"`
	Instances   []instanceState       `json:"instances"`
}

type instanceState struct {
	Index   int       `json:"index"`
	PID     int       `json:"pid"`
	Port    int       `json:"port"`
	LogPath string    `json:"logPath"`
	Start   time.Time `json:"start"`
	// ProcStart is the process's start time as the kernel counts it
	// (procfs.Stat.StartTicks: Linux's /proc/<pid>/stat field 22, macOS's
	// kern.proc.pid), so that a pid reused by another process after a
	// reboot is not taken for the instance; 0 if unknown.
	ProcStart uint64 `json:"procStart,omitempty"`
}

func (c *Compute) statePath(k envKey) string {
	return filepath.Join(c.stateDir, k.service+"-"+string(k.slot)+".json")
}

// saveState records e's instances, replacing the file atomically so that
// an adopter never reads half of it.
func (c *Compute) saveState(e *environment, insts []*instance) error {
	st := envState{Environment: e.env, StopTimeout: e.spec.StopTimeout}
	for _, inst := range insts {
		st.Instances = append(st.Instances, instanceState{Index: inst.index, PID: inst.pid, Port: inst.port,
			LogPath: inst.logPath, Start: inst.start, ProcStart: inst.procStart})
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := c.statePath(e.key)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("local: recording %v: %w", e.env, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("local: recording %v: %w", e.env, err)
	}
	return nil
}

func (c *Compute) removeState(k envKey) error {
	if err := os.Remove(c.statePath(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: removing the state file: %w", err)
	}
	return nil
}

// lookup returns the environment in slot k: the one this Compute runs, or
// in detached mode one recorded in StateDir, which it adopts; nil if none.
func (c *Compute) lookup(k envKey) (*environment, error) {
	c.mu.Lock()
	e := c.envs[k]
	c.mu.Unlock()
	if e != nil || c.stateDir == "" {
		return e, nil
	}
	adopted, err := c.adopt(k)
	if err != nil || adopted == nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.envs[k]; e != nil {
		return e, nil // someone was faster
	}
	c.envs[k] = adopted
	for _, inst := range adopted.instances {
		if !inst.exited() {
			c.ports[inst.port] = true
		}
	}
	return adopted, nil
}

// adopt reads the state file of k and takes over the instances it records.
func (c *Compute) adopt(k envKey) (*environment, error) {
	path := c.statePath(k)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local: reading %s: %w", path, err)
	}
	var st envState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("local: state file %s is corrupt (%v); stop the processes it names by hand, then remove it", path, err)
	}
	spec, err := ParseSpec(st.Environment.Revision)
	if err != nil {
		return nil, fmt.Errorf("local: state file %s: %w", path, err)
	}
	spec.StopTimeout = st.StopTimeout
	e := newEnvironment(st.Environment, spec)
	if e.key != k {
		return nil, fmt.Errorf("local: state file %s holds %s slot %s; remove it", path, e.key.service, e.key.slot)
	}
	for _, is := range st.Instances {
		inst := &instance{
			index: is.Index, port: is.Port, addr: fmt.Sprintf("127.0.0.1:%d", is.Port), logPath: is.LogPath,
			pid: is.PID, start: is.Start, procStart: is.ProcStart,
			adopted: true, everHealthy: true, // an earlier deployer saw it through its start
			exitErr: errUnwatched, // read only once it has exited
		}
		e.instances = append(e.instances, inst)
	}
	close(e.started)
	c.log.Info("environment adopted", "service", k.service, "slot", string(k.slot),
		"revision", e.env.Revision.Name, "deployment", e.env.DeploymentID, "instances", len(e.instances))
	return e, nil
}

var errUnwatched = errors.New("exited while no deployer watched it")

// sameProcess reports whether pid is still the process that started at
// procStart (any process with that pid, if procStart is 0), and not a zombie.
func sameProcess(pid int, procStart uint64) bool {
	if !processExists(pid) {
		return false
	}
	st, ok := procfs.ReadStat(pid)
	if !ok {
		// Gone since, or no /proc mounted: the existence check is all there
		// is. (Where procfs is not supported at all, detached mode is
		// refused, and only instances of this process get here.)
		return true
	}
	return !st.Zombie() && (procStart == 0 || st.StartTicks == procStart)
}
