package procfs

import "golang.org/x/sys/unix"

// Supported reports whether ReadStat can read processes on this system.
const Supported = true

// Process states of macOS's <sys/proc.h>, by the letters Linux uses.
var darwinStates = map[int8]string{1: "I", 2: "R", 3: "S", 4: "T", 5: "Z"}

// ReadStat asks sysctl(3) for kern.proc.pid.<pid>; ok is false if the
// process is gone.
func ReadStat(pid int) (st Stat, ok bool) {
	if pid <= 0 {
		return Stat{}, false
	}
	// For a pid that does not exist the kernel answers with no data, which
	// SysctlKinfoProc reports as an error.
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid {
		return Stat{}, false
	}
	start := kp.Proc.P_starttime
	state, known := darwinStates[kp.Proc.P_stat]
	if !known {
		state = "?"
	}
	return Stat{
		State:      state,
		PGID:       int(kp.Eproc.Pgid),
		StartTicks: uint64(start.Sec)*1_000_000 + uint64(start.Usec),
	}, true
}
