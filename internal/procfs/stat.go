// Package procfs reads the few facts about a process that bluegreen's
// single-host parts need: its state, its process group and its start time
// (to tell it from a later process with the same pid). On Linux it reads
// /proc/<pid>/stat; on macOS it asks sysctl(3) (kern.proc.pid); elsewhere
// it knows nothing, which Supported reports.
package procfs

import (
	"bytes"
	"strconv"
)

// Stat is what the system says about a process.
type Stat struct {
	// State is the one-letter state: "R", "S", "Z" for a zombie...
	State string
	// PGID is the process group.
	PGID int
	// StartTicks is the process's start time: on Linux in clock ticks since
	// boot, on macOS in microseconds since the Unix epoch. Compare it only
	// with another StartTicks read on the same host: two processes with
	// the same pid and StartTicks are the same process.
	StartTicks uint64
}

// Zombie reports whether the process has exited and awaits its reaping.
func (s Stat) Zombie() bool { return s.State == "Z" }

// parseStat parses the content of /proc/<pid>/stat.
func parseStat(b []byte) (st Stat, ok bool) {
	// The command name, field 2, is in parentheses and may hold spaces or
	// parentheses itself: fields are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22 (starttime).
	if len(f) < 20 {
		return Stat{}, false
	}
	pgid, err1 := strconv.Atoi(string(f[2]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return Stat{}, false
	}
	return Stat{State: string(f[0]), PGID: pgid, StartTicks: start}, true
}
