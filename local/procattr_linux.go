package local

import "syscall"

// sysProcAttr puts each instance in its own process group, so that stopping
// it signals everything it started.
//
// Attached (the default), it also asks the kernel to kill the instance if
// the deployer dies (Pdeathsig), so that no instance outlives a crashed
// deploy command. Pdeathsig fires when the thread that started the process
// exits; Go only ends threads whose goroutine is locked to them and exits,
// which the backend never does.
//
// Detached, the instance gets a session of its own instead, away from the
// deployer's terminal and its signals, and outlives the deployer.
func sysProcAttr(detached bool) *syscall.SysProcAttr {
	if detached {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
