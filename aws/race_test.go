//go:build race

package aws_test

// raceEnabled reports whether the race detector is on: it makes every SDK
// call several times slower, so the load tests scale down under it.
const raceEnabled = true
