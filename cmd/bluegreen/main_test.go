package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// asCLI, set in a child's environment, makes the test binary act as the
// bluegreen command: the crash tests need real processes to SIGKILL.
const asCLI = "BLUEGREEN_CLI_TEST_AS_CLI"

// markerVar is set in every CLI child's environment, and so inherited by the
// instances it starts, so that a test finds every process it caused, orphans
// included, by reading /proc.
const markerVar = "BLUEGREEN_CLI_TEST_MARKER"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		main()
		return
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// bins are the programs the process tests run, built once per test run.
type bins struct{ proxy, app string }

var (
	binDir    string
	buildOnce sync.Once
	built     bins
	buildErr  error
)

// programs builds the proxy daemon and the sample app into a temporary
// directory, once.
func programs(t *testing.T) bins {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "bluegreen-cli-bins-")
		if buildErr != nil {
			return
		}
		built = bins{proxy: filepath.Join(binDir, "bluegreen-proxy"), app: filepath.Join(binDir, "app")}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, b := range []struct{ out, pkg string }{
			{built.proxy, "github.com/bluegreen-go/bluegreen/proxy/cmd/bluegreen-proxy"},
			{built.app, "github.com/bluegreen-go/bluegreen/examples/app"},
		} {
			wg.Go(func() {
				out, err := exec.Command("go", "build", "-o", b.out, b.pkg).CombinedOutput()
				if err != nil {
					errs[i] = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				}
			})
		}
		wg.Wait()
		buildErr = errors.Join(errs...)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}
