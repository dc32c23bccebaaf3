package local

import (
	"fmt"
	"runtime"

	"github.com/bluegreen-go/bluegreen"
)

// notSupported is the error of a feature this system lacks: code
// bluegreen.CodeFailedPrecondition, naming the system and what to use
// instead.
func notSupported(what, instead string) error {
	return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
		"local: %s is not supported on %s: %s", what, runtime.GOOS, instead))
}
