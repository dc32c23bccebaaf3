//go:build unix

package local

import (
	"strconv"
	"syscall"

	"github.com/bluegreen-go/bluegreen/internal/procfs"
)

// checkPlatform reports whether this system can run instances, detached
// (Options.StateDir) or not. Every Unix system can run them attached.
// Detached mode needs the start time of a process (package procfs: Linux
// and macOS), so that a later Compute does not take a process that reuses
// a recorded pid, after a reboot, for the instance and signal it.
func checkPlatform(detached bool) error {
	if detached && !procfs.Supported {
		return notSupported("detached mode (Options.StateDir)",
			"it must tell a recorded instance from a later process with the same pid, and reads process start times on Linux and macOS only; "+
				"leave Options.StateDir empty to run instances attached to the deployer")
	}
	return nil
}

// signalGroup signals the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }

// processExists reports whether a process with this pid exists (a zombie
// included) and may be signaled by this one.
func processExists(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// signalName names the signal that killed an instance.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return "signal " + strconv.Itoa(int(sig)) + " (" + sig.String() + ")"
}
