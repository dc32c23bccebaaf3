package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// The speed comparison runs its load generator in a child process (this
// program again, with -loadgen), as wrk would be: the proxies measured then
// share neither a Go scheduler nor a garbage collector with the load, and
// haproxy, our proxy and the plain one are all measured the same way.

// loadSpec is one measurement the child makes.
type loadSpec struct {
	// Kind is "blast" (maximum throughput over Conns keep-alive
	// connections) or "rate" (GET URL at Rate per second with vegeta).
	Kind  string        `json:"kind"`
	Addr  string        `json:"addr,omitempty"`
	Conns int           `json:"conns,omitempty"`
	URL   string        `json:"url,omitempty"`
	Rate  int           `json:"rate,omitempty"`
	For   time.Duration `json:"for"`
}

// loadResult is what the child prints.
type loadResult struct {
	RPS      float64 `json:"rps,omitempty"`
	Failures int64   `json:"failures"`
	Stats    *stats  `json:"stats,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// runLoadgen is the child's side: run spec, print the result as JSON.
func runLoadgen(spec string, out io.Writer) error {
	var s loadSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return fmt.Errorf("-loadgen: %w", err)
	}
	var res loadResult
	switch s.Kind {
	case "blast":
		rps, failed, err := blast(s.Addr, s.Conns, s.For)
		res.RPS, res.Failures = rps, failed
		if err != nil {
			res.Error = err.Error()
		}
	case "rate":
		st := attackFor(s.URL, s.Rate, s.For)
		res.Stats, res.Failures = &st, int64(st.Failures)
	default:
		return fmt.Errorf("-loadgen: unknown kind %q", s.Kind)
	}
	return json.NewEncoder(out).Encode(res)
}

// loadgen runs spec in a child process and returns its result.
func loadgen(ctx context.Context, spec loadSpec) (loadResult, error) {
	self, err := os.Executable()
	if err != nil {
		return loadResult{}, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return loadResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, spec.For+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-loadgen", string(b))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("load generator: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return loadResult{}, fmt.Errorf("load generator output %q: %w", out, err)
	}
	if res.Error != "" {
		return res, fmt.Errorf("load generator: %s", res.Error)
	}
	return res, nil
}
