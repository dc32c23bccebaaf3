// Package filestore is a bluegreen.Store that keeps the state of each
// service in a JSON file in one directory, for deploy tools and daemons that
// run on a single host (or share a local file system).
//
// Each service has a state file, <service>.json, written atomically: the new
// content goes to a temporary file in the same directory, which is synced,
// renamed over the old file, and the directory is synced. A reader sees the
// old record or the new one, never a mix, even if the writer is killed or the
// machine loses power.
//
// Save is a compare-and-swap on the record's version that holds across
// processes: the read, the comparison and the write happen under an exclusive
// lock on a per-service lock file, <service>.lock (flock(2) on Unix,
// LockFileEx on Windows), so of two processes
// saving the same version exactly one wins and the other gets an error with
// code bluegreen.CodeConflict. The lock is held for milliseconds and released
// by the kernel if its holder dies, so a killed process never blocks others.
// The lease in the record (driver.Lease) is how the Deployer keeps a second
// deployment of a service out; this package makes the swap that takes the
// lease atomic.
//
// A state file that cannot be decoded is never overwritten: Load and Save
// fail with a *CorruptError naming the file, and the file stays as it was
// until someone looks at it. Quarantine moves it aside when the caller
// chooses to start the service's state afresh.
//
// Service names become file names, so names that could reach outside the
// directory ("../x", "a/b", names with NUL or starting with a dot) are
// rejected with an error of code bluegreen.CodeInvalid.
//
// The package works on Unix systems and on Windows. On Windows the rename
// is MoveFileEx with write-through instead of a rename and a directory sync,
// and it is retried for up to two seconds while a reader has the state file
// open (Go opens files without FILE_SHARE_DELETE). Elsewhere (js, wasip1,
// plan9) Save, Quarantine and Delete fail with code
// bluegreen.CodeFailedPrecondition: without a file lock the compare-and-swap
// would not hold.
//
// Delete removes a service's state file and its lock file, under the lock
// (on Windows the lock file stays, as an open file cannot be removed there).
// Removing a lock file that others have open and wait on would on its own
// let two processes hold "the" lock at once, one on the removed file and one
// on a fresh file at the same path; so whoever takes a lock then checks that
// the path still names the file it locked, and if not starts over.
package filestore
