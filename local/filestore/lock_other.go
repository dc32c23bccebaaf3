//go:build !unix && !windows

package filestore

import (
	"fmt"
	"os"
	"runtime"

	"github.com/bluegreen-go/bluegreen"
)

// tryLock fails: this system has neither flock(2) nor LockFileEx, and
// without a lock Save's compare-and-swap would not hold across processes.
func tryLock(*os.File) (bool, error) {
	return false, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
		"not supported on %s: the store's compare-and-swap needs a file lock (flock on Unix, LockFileEx on Windows); "+
			"keep the state in a store with its own compare-and-swap, such as aws/dynamostore", runtime.GOOS))
}

func unlockFile(*os.File) {}
