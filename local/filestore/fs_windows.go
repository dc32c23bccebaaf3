package filestore

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// Bounds of replaceFile's and removeFile's retries while a reader has the target open.
const (
	replaceRetryFor = 2 * time.Second
	replaceMaxWait  = 50 * time.Millisecond
)

// replaceFile renames from over to with MoveFileEx, which replaces to
// atomically and, with MOVEFILE_WRITE_THROUGH, returns only once the move
// is on disk (what syncDir does elsewhere).
//
// Go opens files without FILE_SHARE_DELETE, so a Load reading to at that
// moment, in this process or another, makes the move fail with a sharing
// violation or access denied. Loads hold the file for the time of one read,
// so the move is retried for up to replaceRetryFor.
func replaceFile(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	err = retryBusy(func() error {
		return windows.MoveFileEx(f, t, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
	})
	if err != nil {
		return fmt.Errorf("moving %s over %s: %w", from, to, err)
	}
	return nil
}

// removeFile removes the file at path. A Load reading it makes the removal
// fail as it does replaceFile's move, so it is retried the same way.
func removeFile(path string) error {
	return retryBusy(func() error { return os.Remove(path) })
}

// retryBusy calls op until it succeeds, fails for another reason than a
// reader holding the file open, or replaceRetryFor has passed.
func retryBusy(op func() error) error {
	deadline := time.Now().Add(replaceRetryFor)
	wait := time.Millisecond
	for {
		err := op()
		if err == nil {
			return nil
		}
		busy := errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)
		if !busy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait) // nothing to wait on: the reader's handle is not ours
		wait = min(2*wait, replaceMaxWait)
	}
}

// syncDir does nothing on Windows: a directory opened for reading cannot be
// flushed (FlushFileBuffers needs write access), and replaceFile writes its
// move through to disk instead. Quarantine's plain rename is left to NTFS's
// journal.
func syncDir(string) error { return nil }
