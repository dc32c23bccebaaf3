package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/procfs"
)

// environment is one environment's processes.
type environment struct {
	key  envKey
	env  bluegreen.Environment
	spec Spec

	started   chan struct{} // closed once start has finished
	startErr  error         // set before started is closed
	instances []*instance   // set before started is closed, then fixed

	down chan struct{} // a semaphore: one scale-down at a time
	// reg is a semaphore held around calls to Targets for e, so that a
	// Status registering the addresses cannot overtake a ScaleDown removing
	// them. A channel rather than a mutex: SetTargets may wait for draining,
	// and a waiter must be able to give up when its context ends.
	reg chan struct{}

	// Guarded by Compute.mu.
	stopping   bool // a scale-down has begun
	gone       bool // every process has exited and e left Compute.envs
	registered bool // Targets has the instances' addresses
}

func newEnvironment(env bluegreen.Environment, spec Spec) *environment {
	return &environment{
		key:     envKey{env.Service, env.Slot},
		env:     env,
		spec:    spec,
		started: make(chan struct{}),
		down:    make(chan struct{}, 1),
		reg:     make(chan struct{}, 1),
	}
}

// instance is one process.
type instance struct {
	index   int
	port    int
	addr    string
	logPath string
	pid     int
	start   time.Time
	// procStart is the kernel's start time of the process, to tell it from
	// a later process with the same pid (see sameProcess).
	procStart uint64
	// adopted is set for a process started by an earlier deployer and
	// found in the state directory: not a child of this process.
	adopted bool
	// gate, in detached mode, holds the instance before it runs its command
	// until the deployer has recorded its pid (see gateScript).
	gate *os.File

	done    chan struct{} // closed once the process has exited and been reaped; nil if adopted
	exitErr error         // set before done is closed

	// Guarded by Compute.mu.
	everHealthy bool
}

// startInstance starts instance i of e with its own port and log file.
func (c *Compute) startInstance(e *environment, i int) (*instance, error) {
	port, err := c.allocPort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(c.logDir, fmt.Sprintf("%s-%s-%s-%d.log", e.key.service, e.key.slot, fileSafe(e.env.DeploymentID), i))
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		c.releasePort(port)
		return nil, fmt.Errorf("local: opening the log file: %w", err)
	}
	fmt.Fprintf(logFile, "--- %s bluegreen-local: starting %s instance %d on %s: %s %q\n",
		time.Now().Format(time.RFC3339Nano), e.env.Revision.Name, i, addr, e.spec.Command, e.spec.Args)

	cmd := exec.Command(e.spec.Command, e.spec.Args...)
	cmd.Dir = e.spec.Dir
	cmd.Env = c.instanceEnv(e, i, port)
	// The child writes straight to the file: no copying goroutine that
	// could lose the last lines of an instance that crashes.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(c.stateDir != "")
	var gate, gateRead *os.File
	if c.stateDir != "" && cmd.Err == nil {
		if gate, gateRead, err = gateCommand(cmd); err != nil {
			logFile.Close()
			c.releasePort(port)
			return nil, err
		}
	}
	err = cmd.Start()
	logFile.Close() // the child has its own descriptor
	if gateRead != nil {
		gateRead.Close()
	}
	if err != nil {
		if gate != nil {
			gate.Close()
		}
		c.releasePort(port)
		code := bluegreen.CodeUnknown
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			code = bluegreen.CodeInvalid
		}
		return nil, bluegreen.NewError(code, fmt.Errorf(
			"local: Revision.Spec.command %q of %s cannot be started: %w", e.spec.Command, e.env.Revision.Name, err))
	}
	inst := &instance{
		index: i, port: port, addr: addr, logPath: logPath,
		pid: cmd.Process.Pid, start: time.Now(), done: make(chan struct{}), gate: gate,
	}
	if st, ok := procfs.ReadStat(inst.pid); ok {
		inst.procStart = st.StartTicks
	}
	c.procs.Add(1)
	go c.reap(e, inst, cmd)
	c.log.Debug("instance started", "service", e.key.service, "slot", string(e.key.slot), "instance", i, "pid", inst.pid, "addr", addr)
	return inst, nil
}

// instanceEnv is the environment of instance i of e: the base environment,
// the spec's, then the backend's variables, which win.
func (c *Compute) instanceEnv(e *environment, i, port int) []string {
	env := slices.Clip(c.baseEnv)
	keys := make([]string, 0, len(e.spec.Env))
	for k := range e.spec.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+e.spec.Env[k])
	}
	return append(env,
		"PORT="+strconv.Itoa(port),
		"BLUEGREEN_REVISION="+e.env.Revision.Name,
		"BLUEGREEN_SERVICE="+e.key.service,
		"BLUEGREEN_SLOT="+string(e.key.slot),
		"BLUEGREEN_DEPLOYMENT_ID="+e.env.DeploymentID,
		"BLUEGREEN_INSTANCE="+strconv.Itoa(i),
	)
}

// reap waits for the process to exit, records how, and frees its port.
func (c *Compute) reap(e *environment, inst *instance, cmd *exec.Cmd) {
	defer c.procs.Done()
	err := cmd.Wait()
	// The last line of the log, before anyone waiting on done reads it.
	if f, ferr := os.OpenFile(inst.logPath, os.O_WRONLY|os.O_APPEND, 0); ferr == nil {
		fmt.Fprintf(f, "--- %s bluegreen-local: instance %d (pid %d) %s\n",
			time.Now().Format(time.RFC3339Nano), inst.index, inst.pid, exitString(err))
		f.Close()
	}
	inst.exitErr = err
	close(inst.done)
	c.releasePort(inst.port)

	c.mu.Lock()
	expected := e.stopping
	c.mu.Unlock()
	attrs := []any{"service", e.key.service, "slot", string(e.key.slot), "instance", inst.index,
		"pid", inst.pid, "exit", exitString(err), "log", inst.logPath}
	if expected {
		c.log.Debug("instance stopped", attrs...)
	} else {
		c.log.Warn("instance exited", attrs...)
	}
}

// stopInstance stops inst's process group: SIGTERM, then SIGKILL once
// grace has passed or ctx is done. It returns once the process is reaped.
func (c *Compute) stopInstance(ctx context.Context, inst *instance, grace time.Duration) {
	if !inst.exited() {
		c.signal(inst, syscall.SIGTERM)
		t := time.NewTimer(grace)
		if !inst.wait(t.C, ctx.Done()) && ctx.Err() == nil {
			c.log.Warn("instance ignored SIGTERM; killing it", "pid", inst.pid, "stopTimeout", grace)
		}
		t.Stop()
	}
	// Also kill what the instance started and left behind in its group.
	c.signal(inst, syscall.SIGKILL)
	inst.wait(nil, nil)
}

// exited reports whether the instance's process has exited.
func (inst *instance) exited() bool {
	if inst.adopted {
		return !sameProcess(inst.pid, inst.procStart)
	}
	select {
	case <-inst.done:
		return true
	default:
		return false
	}
}

// adoptedPoll is how often an adopted instance is checked while waiting for
// it to exit: it is not a child of this process, so there is nothing to
// wait on.
const adoptedPoll = 20 * time.Millisecond

// wait waits until the process has exited, or until timeout or cancel
// fires (nil: never), and reports whether it exited.
func (inst *instance) wait(timeout <-chan time.Time, cancel <-chan struct{}) bool {
	if !inst.adopted {
		select {
		case <-inst.done:
			return true
		case <-timeout:
		case <-cancel:
		}
		return false
	}
	tick := time.NewTicker(adoptedPoll)
	defer tick.Stop()
	for !inst.exited() {
		select {
		case <-tick.C:
		case <-timeout:
			return false
		case <-cancel:
			return false
		}
	}
	return true
}

// signal signals the process group the instance leads. An already empty
// group (ESRCH) is not an error: there is nothing left to stop. An adopted
// instance is signaled only while its pid is still the same process: after
// a reboot the pid may lead someone else's process group.
func (c *Compute) signal(inst *instance, sig syscall.Signal) {
	if inst.adopted && !sameProcess(inst.pid, inst.procStart) {
		return
	}
	_ = signalGroup(inst.pid, sig)
}

// allocPort finds a free loopback port that no instance of this Compute
// has. The port is free when returned, but another program could take it
// before the instance listens; that instance then fails its health checks.
func (c *Compute) allocPort() (int, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("local: finding a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		c.mu.Lock()
		taken := c.ports[port]
		if !taken {
			c.ports[port] = true
		}
		c.mu.Unlock()
		if !taken {
			return port, nil
		}
	}
	return 0, errors.New("local: no free loopback port found")
}

func (c *Compute) releasePort(port int) {
	c.mu.Lock()
	delete(c.ports, port)
	c.mu.Unlock()
}

// exitString says how a process exited, from cmd.Wait's error.
func exitString(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exited with status 0"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + signalName(ws.Signal())
		}
		return "exited with status " + strconv.Itoa(ee.ExitCode())
	default:
		return err.Error()
	}
}

// fileSafe maps s to a string usable in a file name: deployment ids come
// from callers and could hold anything.
func fileSafe(s string) string {
	if s == "" {
		return "none"
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
	return s[:min(len(s), 64)]
}

// gateScript holds a detached instance at its start: it waits for a line on
// descriptor 3 and only then becomes the instance's command (same pid). The
// deployer writes the line once the instance's pid is in the state file; a
// deployer that dies before that closes the pipe, and the instance exits
// instead of running unrecorded, where no later deployer could find it.
const gateScript = `read _ <&3 || exit 1; exec 3<&-; exec "$0" "$@"`

// gateCommand wraps cmd in the gate, returning the pipe's write end (kept by
// the deployer) and read end (the child's; the caller closes it after Start).
func gateCommand(cmd *exec.Cmd) (gate, read *os.File, err error) {
	if strings.ContainsRune(cmd.Path, filepath.Separator) {
		// exec.Command resolved names from $PATH already; check explicit
		// paths now, as Start would, rather than inside the shell.
		p := cmd.Path
		if !filepath.IsAbs(p) && cmd.Dir != "" {
			p = filepath.Join(cmd.Dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, nil, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("local: Revision.Spec.command %q cannot be started: %w", cmd.Path, err))
		}
	}
	read, gate, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("local: gate pipe: %w", err)
	}
	cmd.Args = append([]string{"/bin/sh", "-c", gateScript, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	cmd.ExtraFiles = []*os.File{read}
	return gate, read, nil
}

// openGate lets a gated instance run its command; a no-op for others.
func (inst *instance) openGate() {
	if inst.gate != nil {
		_, _ = inst.gate.Write([]byte("go\n"))
		inst.gate.Close()
		inst.gate = nil
	}
}
