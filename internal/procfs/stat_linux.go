package procfs

import (
	"os"
	"strconv"
)

// Supported reports whether ReadStat can read processes on this system.
const Supported = true

// ReadStat reads /proc/<pid>/stat; ok is false if the process is gone or the
// system has no /proc mounted.
func ReadStat(pid int) (st Stat, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	return parseStat(b)
}
