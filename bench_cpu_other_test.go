//go:build !unix

package bluegreen_test

import "time"

// cpuTime is not measured where getrusage is missing: the benchmarks then
// report 0 CPU per deployment.
func cpuTime() time.Duration { return 0 }
