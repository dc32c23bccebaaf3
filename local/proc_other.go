//go:build !unix

package local

import "syscall"

// errNoProcessGroups is why this system runs no instances.
var errNoProcessGroups = notSupported("running instances",
	"the local backend stops an instance by signaling its process group (SIGTERM, then SIGKILL), which this system lacks; "+
		"run the deployer on Linux or macOS (on Windows, under WSL 2), or use another compute backend, such as aws/ecscompute")

// checkPlatform refuses: see errNoProcessGroups.
func checkPlatform(bool) error { return errNoProcessGroups }

// sysProcAttr is never used: checkPlatform refuses to start instances.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

// signalGroup fails: see errNoProcessGroups.
func signalGroup(int, syscall.Signal) error { return errNoProcessGroups }

// processExists reports false: no instance ever runs here.
func processExists(int) bool { return false }

// signalName names a signal: by number, since no instance runs here.
func signalName(sig syscall.Signal) string { return "signal " + sig.String() }
