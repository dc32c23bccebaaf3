package filestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
)

// The tests in this file run the test binary again as helper processes, so
// that the compare-and-swap is exercised across real OS processes. The
// helper mode is chosen by an environment variable, read in TestMain.
const (
	helperModeEnv = "FILESTORE_TEST_HELPER"
	helperDirEnv  = "FILESTORE_TEST_DIR"
	helperNEnv    = "FILESTORE_TEST_N"
	helperOwnEnv  = "FILESTORE_TEST_OWNER"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperModeEnv) {
	case "":
		os.Exit(m.Run())
	case "increment":
		os.Exit(helperIncrement())
	case "churn":
		os.Exit(helperChurn())
	case "lease":
		os.Exit(helperLease())
	case "lockcycle":
		os.Exit(helperLockCycle())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", helperModeEnv, os.Getenv(helperModeEnv))
		os.Exit(2)
	}
}

// awaitStart polls for the start file the test writes once every helper
// runs, so that their work overlaps.
func awaitStart(ctx context.Context, dir string) error {
	for {
		if _, err := os.Stat(filepath.Join(dir, "start")); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("no start file")
		case <-time.After(time.Millisecond):
		}
	}
}

// startedHelper is what a helper process that races others starts with:
// its store, its count N (0 if none was given), and a context bounding its
// work, once the start file is there.
func startedHelper() (ctx context.Context, cancel context.CancelFunc, s *Store, n int, err error) {
	dir := os.Getenv(helperDirEnv)
	if v := os.Getenv(helperNEnv); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			return nil, nil, nil, 0, err
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	if err = awaitStart(ctx, dir); err == nil {
		s, err = Open(dir, nil)
	}
	if err != nil {
		cancel()
		return nil, nil, nil, 0, err
	}
	return ctx, cancel, s, n, nil
}

// helperIncrement does N increments of the "counter" record.
func helperIncrement() int {
	ctx, cancel, s, n, err := startedHelper()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer cancel()
	if err := increment(ctx, s, "counter", n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperLease tries to take the lease of "web" as the Deployer does: it
// prints "won", or "held by <owner>" if another process holds it.
func helperLease() int {
	me := os.Getenv(helperOwnEnv)
	ctx, cancel, s, _, err := startedHelper()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer cancel()
	for ctx.Err() == nil {
		rec, err := s.Load(ctx, "web")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		now := time.Now()
		if rec.Lease.HeldByOther(me, now) {
			fmt.Println("held by", rec.Lease.Owner)
			return 0
		}
		rec.Lease = driver.Lease{Owner: me, Expires: now.Add(time.Minute)}
		if _, err := s.Save(ctx, rec); errors.Is(err, bluegreen.ErrConflict) {
			continue // someone changed the record: look again
		} else if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("won")
		return 0
	}
	return 1
}

// helperLockCycle does N increments of a plain counter file, each under
// the lock of "web", and removes the lock file every third time before
// releasing it, as Delete does. The file is rewritten in place, so two
// processes holding the lock at once lose an increment or read a torn file.
func helperLockCycle() int {
	ctx, cancel, s, n, err := startedHelper()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer cancel()
	count := filepath.Join(s.Dir(), "count")
	for i := range n {
		unlock, err := s.lock(ctx, "web")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		err = bumpCount(count)
		if err == nil && i%3 == 0 {
			err = os.Remove(s.lockPath("web"))
		}
		unlock()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// bumpCount adds one to the number in the file at path (0 if there is no
// file).
func bumpCount(path string) error {
	n, err := readCount(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(n+1)), 0o600)
}

func readCount(path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(data))
	if err != nil {
		return 0, fmt.Errorf("count file holds %q: %w", data, err)
	}
	return n, nil
}

// helperChurn saves the "counter" record until it is killed, printing each
// version it saved.
func helperChurn() int {
	s, err := Open(os.Getenv(helperDirEnv), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		rec, err := s.Load(ctx, "counter")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Grow the record now and then, so that the kill lands on writes of
		// different sizes.
		rec.Lease.Owner = fmt.Sprintf("churn-%0*d", int(rec.Version%512), rec.Version)
		v, err := s.Save(ctx, rec)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(v)
	}
	return 1
}

// runHelpers runs procs helper processes in mode, each n times, and
// returns once all have ended; they poll for the file "start" in dir,
// written once all are started, so that their work overlaps.
func runHelpers(t *testing.T, mode, dir string, procs, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for i := range procs {
		cmd := helperCmd(t, mode, dir, n)
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("helper %d: %v: %s", i, err, out)
			}
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "start"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func helperCmd(t *testing.T, mode, dir string, n int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperDirEnv+"="+dir, helperNEnv+"="+strconv.Itoa(n))
	return cmd
}

// TestCASAcrossProcesses races two processes doing read-modify-write
// increments of one record: every increment must survive, which only holds
// if the compare-and-swap is atomic across processes.
func TestCASAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs, each = 2, 100
	runHelpers(t, "increment", dir, procs, each)
	checkCounter(t, dir, "counter", procs*each)
}

// TestLeaseAcrossProcesses has four processes try to take one service's
// lease at once: exactly one wins, and the others are told who holds it.
func TestLeaseAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs = 4
	outs := make([]string, procs)
	var wg sync.WaitGroup
	for i := range procs {
		cmd := helperCmd(t, "lease", dir, 0)
		cmd.Env = append(cmd.Env, helperOwnEnv+"=owner-"+strconv.Itoa(i))
		wg.Go(func() {
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("helper %d: %v", i, err)
			}
			outs[i] = strings.TrimSpace(string(out))
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "start"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	winner := slices.Index(outs, "won")
	if winner < 0 || slices.Index(outs[winner+1:], "won") >= 0 {
		t.Fatalf("helpers said %q, want exactly one winner", outs)
	}
	for i, out := range outs {
		if want := "held by owner-" + strconv.Itoa(winner); i != winner && out != want {
			t.Errorf("helper %d said %q, want %q", i, out, want)
		}
	}
	rec, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rec.Load(t.Context(), "web"); err != nil || got.Lease.Owner != "owner-"+strconv.Itoa(winner) {
		t.Errorf("stored lease %+v, %v; want it held by the winner", got.Lease, err)
	}
}

// TestLockAcrossProcessesWithDeletes has three processes take one lock in
// turn while its lock file is removed under them, as Delete removes it:
// every increment made under the lock must survive, which only holds if a
// process that locked a removed lock file notices and locks the fresh one.
func TestLockAcrossProcessesWithDeletes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows cannot remove a lock file that is open")
	}
	dir := t.TempDir()
	const procs, each = 3, 150
	runHelpers(t, "lockcycle", dir, procs, each)
	if n, err := readCount(filepath.Join(dir, "count")); err != nil || n != procs*each {
		t.Errorf("count = %d, %v; want %d: two processes held the lock at once", n, err, procs*each)
	}
}

// TestKilledWriter kills a process that saves in a loop, at different
// moments, and checks after each kill that the state file is intact, that
// no acknowledged write was lost, and that the lock died with its holder.
func TestKilledWriter(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for round, after := range []int{1, 7, 20, 3, 40} {
		cmd := helperCmd(t, "churn", dir, 0)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once it has acknowledged `after` saves: the kill lands
		// somewhere in the next save.
		var acked int64
		lines := bufio.NewScanner(stdout)
		for i := 0; i < after && lines.Scan(); i++ {
			acked, _ = strconv.ParseInt(lines.Text(), 10, 64)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if acked == 0 {
			t.Fatalf("round %d: the helper acknowledged no save", round)
		}

		rec, err := s.Load(t.Context(), "counter")
		if err != nil {
			t.Fatalf("round %d: Load after the writer was killed: %v", round, err)
		}
		if rec.Version < acked {
			t.Fatalf("round %d: version %d after the writer acknowledged %d: a save was lost", round, rec.Version, acked)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		v, err := s.Save(ctx, rec)
		cancel()
		if err != nil || v != rec.Version+1 {
			t.Fatalf("round %d: Save after the writer was killed = %d, %v; want %d (is the lock still held?)",
				round, v, err, rec.Version+1)
		}
	}
	if _, err := s.Load(t.Context(), "counter"); errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Fatalf("state file corrupt at the end: %v", err)
	}
}
