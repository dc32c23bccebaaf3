//go:build unix

package local

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestGate: a gated command runs only once the gate opens; if the gate's
// writer goes away first (the deployer died before recording the pid), the
// process exits without running the command.
func TestGate(t *testing.T) {
	tests := []struct {
		name string
		open bool
		want string
		code int
	}{
		{"opened", true, "ran a b\n", 0},
		{"writer gone", false, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("/bin/echo", "ran", "a", "b")
			var out strings.Builder
			cmd.Stdout = &out
			gate, read, err := gateCommand(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			read.Close()
			inst := &instance{gate: gate}
			if tt.open {
				inst.openGate()
			} else {
				gate.Close()
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || code != tt.code {
				t.Errorf("output %q, exit %d; want %q, exit %d", out.String(), code, tt.want, tt.code)
			}
		})
	}
	if _, _, err := gateCommand(exec.Command("./no-such-program")); err == nil {
		t.Error("a missing explicit path was accepted")
	}
}
