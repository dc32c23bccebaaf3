package local

import "github.com/bluegreen-go/bluegreen"

// Instance describes one process of an environment.
type Instance struct {
	// Index is the instance's number in its environment, from 0.
	Index int
	// PID is its process id, which is also its process group id.
	PID int
	// Addr is where it listens, "127.0.0.1:PORT".
	Addr string
	// LogPath is the file holding its stdout and stderr.
	LogPath string
	// Running reports whether the process is alive.
	Running bool
	// Exit is how it exited, such as "exit status 1"; empty while it runs.
	Exit string
}

// Instances describes the instances of the environment in slot of service,
// of whatever deployment; nil if there is none.
func (c *Compute) Instances(service string, slot bluegreen.Slot) []Instance {
	e, err := c.lookup(envKey{service, slot})
	if err != nil || e == nil {
		return nil
	}
	select {
	case <-e.started:
	default:
		return nil
	}
	out := make([]Instance, len(e.instances))
	for i, inst := range e.instances {
		out[i] = Instance{Index: inst.index, PID: inst.pid, Addr: inst.addr, LogPath: inst.logPath, Running: true}
		if inst.exited() {
			out[i].Running = false
			out[i].Exit = exitString(inst.exitErr)
		}
	}
	return out
}

// Addrs returns the addresses of the instances in slot of service, running
// or not, in index order; nil if there is no environment there.
func (c *Compute) Addrs(service string, slot bluegreen.Slot) []string {
	var addrs []string
	for _, inst := range c.Instances(service, slot) {
		addrs = append(addrs, inst.Addr)
	}
	return addrs
}
