package local

import (
	"bytes"
	"os"
	"strconv"
)

// procStat reads a process's start time (in clock ticks since boot) and
// whether it is a zombie, from /proc/<pid>/stat.
func procStat(pid int) (start uint64, zombie, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, false
	}
	// The command name, field 2, is in parentheses and may hold spaces or
	// parentheses itself: fields are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false, false
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 {
		return 0, false, false
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, false, false
	}
	return start, string(fields[0]) == "Z", true
}
