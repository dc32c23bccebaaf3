//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cli is a bluegreen command running as a child process.
type cli struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
	code int           // its exit code, -1 if a signal ended it; set before done closes

	mu      sync.Mutex
	lines   []string      // its stderr, line by line
	changed chan struct{} // closed and replaced when lines grow
	stdout  bytes.Buffer
}

// start runs the command with args as a child process.
func (w *world) start(args ...string) *cli {
	w.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		w.t.Fatal(err)
	}
	c := &cli{cmd: exec.Command(exe, args...), done: make(chan struct{}), changed: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), asCLI+"=1", markerVar+"="+w.dir)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.cmd.Stdout = &lockedWriter{mu: &c.mu, w: &c.stdout}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.kill(); <-c.done })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		err := c.cmd.Wait()
		c.code = c.cmd.ProcessState.ExitCode()
		if err != nil && c.code == 0 {
			c.code = -1
		}
		close(c.done)
	}()
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// kill sends SIGKILL to the command (its instances run in sessions of their own).
func (c *cli) kill() {
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// waitLine waits for a stderr line containing s and returns it.
func (c *cli) waitLine(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for next := 0; ; {
		c.mu.Lock()
		lines, changed := c.lines[next:], c.changed
		c.mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, s) {
				return l
			}
		}
		next += len(lines)
		select {
		case <-changed:
		case <-c.done:
			c.mu.Lock()
			rest := c.lines[next:]
			c.mu.Unlock()
			for _, l := range rest {
				if strings.Contains(l, s) {
					return l
				}
			}
			t.Fatalf("the command exited (code %d) without printing %q:\n%s", c.code, s, c.stderr())
		case <-deadline:
			t.Fatalf("no line %q within %v:\n%s", s, timeout, c.stderr())
		}
	}
}

// wait waits for the command to exit and returns its exit code.
func (c *cli) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(timeout):
		c.kill()
		t.Fatalf("the command did not finish within %v:\n%s", timeout, c.stderr())
	}
	return 0
}

func (c *cli) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// result decodes the command's final JSON line.
func (c *cli) result(t *testing.T) result {
	t.Helper()
	c.mu.Lock()
	out := c.stdout.String()
	c.mu.Unlock()
	var r result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout %q is not a result: %v\nstderr:\n%s", out, err, c.stderr())
	}
	return r
}
