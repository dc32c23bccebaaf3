//go:build unix

package main

import "syscall"

// sweep kills the orphans' process groups.
func sweep(orphans []orphan) {
	self := syscall.Getpgrp()
	for _, o := range orphans {
		if o.pgid > 1 && o.pgid != self {
			_ = syscall.Kill(-o.pgid, syscall.SIGKILL)
		} else {
			_ = syscall.Kill(o.PID, syscall.SIGKILL)
		}
	}
}
