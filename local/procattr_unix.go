//go:build unix && !linux

package local

import "syscall"

// sysProcAttr puts each instance in its own process group, so that stopping
// it signals everything it started; detached, in a session of its own.
// Outside Linux there is no Pdeathsig: attached instances outlive a
// deployer killed with SIGKILL; Close stops them on an orderly exit.
func sysProcAttr(detached bool) *syscall.SysProcAttr {
	if detached {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}
