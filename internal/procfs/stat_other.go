//go:build !linux && !darwin

package procfs

// Supported reports whether ReadStat can read processes on this system.
const Supported = false

// ReadStat knows nothing on this system: ok is always false.
func ReadStat(int) (st Stat, ok bool) { return Stat{}, false }
