package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// TestBadUsage runs the command in process with bad arguments: each exits 2
// (or 4 when the daemon is unreachable) with a message naming the flag and
// the fix, before touching anything.
func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	base := func(extra ...string) []string {
		args := []string{"deploy", "-service", "web", "-state", state, "-proxy-admin", "unix:" + filepath.Join(dir, "none.sock"), "-revision", "v2"}
		return append(args, extra...)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string // in stderr
	}{
		{"no command", nil, exitUsage, []string{"Usage:", "bluegreen deploy"}},
		{"unknown command", []string{"ship"}, exitUsage, []string{`unknown command "ship"`, "deploy, reconcile, status or timeline"}},
		{"no service", []string{"deploy", "-state", state}, exitUsage, []string{"-service is required", "-service web"}},
		{"no state", []string{"deploy", "-service", "web"}, exitUsage, []string{"-state is required"}},
		{"no proxy", []string{"deploy", "-service", "web", "-state", state}, exitUsage, []string{"-proxy-admin is required", "unix:"}},
		{"no revision", []string{"deploy", "-service", "web", "-state", state, "-proxy-admin", "unix:/x", "--", "/bin/app"}, exitUsage,
			[]string{"-revision is required", "-revision v2"}},
		{"no program", base(), exitUsage, []string{"the command after --", "no command given"}},
		{"bad shift", base("-shift", "linear:abc:2s", "--", "/bin/app"), exitUsage, []string{"-shift", "linear:PERCENT:WAIT"}},
		{"zero shift", base("-shift", "canary:0:1s", "--", "/bin/app"), exitUsage, []string{"-shift", "from 0.1 to 99.9"}},
		{"shift wait", base("-shift", "linear:25:soon", "--", "/bin/app"), exitUsage, []string{"-shift", `wait "soon"`}},
		{"bake", base("-bake", "3", "--", "/bin/app"), exitUsage, []string{"-bake", "not a duration", "3s"}},
		{"instances", base("-instances", "0", "--", "/bin/app"), exitUsage, []string{"-instances 0 is out of range", "1 to 64"}},
		{"health path", base("-health-path", "healthz", "--", "/bin/app"), exitUsage, []string{"-health-path", "/healthz"}},
		{"error rate", base("-error-rate", "1.5", "--", "/bin/app"), exitUsage, []string{"-error-rate", "0.05"}},
		{"env reserved", base("-env", "PORT=1", "--", "/bin/app"), exitUsage, []string{"-env", "set by the backend"}},
		{"env form", base("-env", "DEBUG", "--", "/bin/app"), exitUsage, []string{"-env", "KEY=VALUE"}},
		{"on-cancel", base("-on-cancel", "later", "--", "/bin/app"), exitUsage, []string{"-on-cancel", "rollback or detach"}},
		{"reconcile policy", base("-reconcile", "maybe", "--", "/bin/app"), exitUsage, []string{"-reconcile", "default, rollback, refuse or resume"}},
		{"lease ttl", base("-lease-ttl", "0s", "--", "/bin/app"), exitUsage, []string{"-lease-ttl", "30s"}},
		{"flag after command", base("--", "-x"), exitUsage, []string{"looks like a flag"}},
		{"token file", base("-proxy-token-file", filepath.Join(dir, "missing"), "--", "/bin/app"), exitUsage,
			[]string{"-proxy-token-file", "cannot be read"}},
		{"admin address", []string{"deploy", "-service", "web", "-state", state, "-proxy-admin", "http://x/y", "-revision", "v2", "--", "/bin/app"},
			exitUsage, []string{"-proxy-admin", `"http://x/y"`}},
		{"daemon down", base("--", "/bin/app"), exitFailed, []string{"cannot reach the proxy daemon", "is bluegreen-proxy running"}},
		{"reconcile extra", []string{"reconcile", "-service", "web", "-state", state, "-proxy-admin", "unix:/x", "now"}, exitUsage,
			[]string{"unexpected arguments"}},
		{"status state", []string{"status", "-service", "web", "-state", filepath.Join(dir, "nothing")}, exitUsage,
			[]string{"-state", "is not a directory"}},
		{"bad service", []string{"status", "-service", "../etc", "-state", dir}, exitUsage, []string{"-service", "not a service name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not mention %q", stderr.String(), w)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing: no deployment ran", stdout.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(state, storeDir)); !os.IsNotExist(err) {
		t.Errorf("a refused command created the store (%v)", err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"deploy", "-h"}, {"reconcile", "-h"}, {"status", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "-service") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and the flags on stdout", args, code, stdout.String(), stderr.String())
		}
	}
}

func TestParseShift(t *testing.T) {
	tests := []struct {
		in   string
		want bluegreen.Shift
	}{
		{"all", bluegreen.AllAtOnce()},
		{"linear:25:2s", bluegreen.Linear(25, 2*time.Second)},
		{"linear:12.5:0s", bluegreen.Linear(12.5, 0)},
		{"canary:0.1:5m", bluegreen.Canary(0.1, 5*time.Minute)},
	}
	for _, tt := range tests {
		got, err := parseShift(tt.in)
		if err != nil {
			t.Errorf("parseShift(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseShift(%q) (-want +got):\n%s", tt.in, diff)
		}
		// String writes what Set reads.
		var back shiftValue
		if err := back.Set((*shiftValue)(&got).String()); err != nil || bluegreen.Shift(back).Type != got.Type ||
			bluegreen.Shift(back).Percent != got.Percent || bluegreen.Shift(back).Wait != got.Wait {
			t.Errorf("Set(String()) of %q = %+v, %v", tt.in, back, err)
		}
	}
	for _, in := range []string{"", "ALL", "linear", "linear:25", "linear:25:2s:x", "linear:-5:1s", "linear:100:1s", "canary:10:-1s", "steps:1:1s", "linear:NaN:1s", "linear:0.5:1s"} {
		if _, err := parseShift(in); err == nil {
			t.Errorf("parseShift(%q) succeeded, want an error", in)
		}
	}
}

// TestExitCodes maps the errors a deployment ends with to exit codes.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{&bluegreen.RollbackError{Service: "web"}, exitRolledBack},
		{fmt.Errorf("start: %w", &bluegreen.InProgressError{Service: "web", Holder: "h"}), exitInProgress},
		{&bluegreen.ConfigError{Field: "Config.Shift"}, exitUsage},
		{&flagError{"bake", "is negative", "use 3s"}, exitUsage},
		{bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf("daemon down")), exitFailed},
		{fmt.Errorf("anything"), exitFailed},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// Example_status reads the state of a service that was never deployed.
func Example_status() {
	dir, err := os.MkdirTemp("", "bluegreen-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	code := run(context.Background(), []string{"status", "-service", "web", "-state", dir}, os.Stdout, os.Stderr)
	fmt.Println("exit code", code)
	// Output:
	// {"service":"web","live":null,"instances":{}}
	// exit code 0
}
