package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Defaults and limits of a Spec.
const (
	DefaultInstances   = 2
	MaxInstances       = 64
	DefaultGracePeriod = 30 * time.Second
	DefaultCheckTime   = time.Second
)

// Spec is the body of a bluegreen.Revision run by the local backend: the
// command every instance runs and how to tell it is ready. It is stored as
// JSON in Revision.Spec; build one with Spec.Revision, read one with
// ParseSpec. Its JSON form:
//
//	{
//	  "command": "./bin/web",            // required: a path (relative to dir, if set) or a name in $PATH
//	  "args": ["-log", "json"],
//	  "env": {"DB_URL": "postgres://..."},
//	  "dir": "/srv/web",                 // working directory; the deployer's if empty
//	  "instances": 2,                    // 1 to 64; 2 if absent (0 is refused: scale down instead)
//	  "readiness": {
//	    "path": "/healthz",              // HTTP GET must answer 2xx; absent: accepting TCP connections is enough
//	    "timeout": "1s",                 // per check
//	    "gracePeriod": "30s"             // an instance not yet healthy this long after starting fails the environment
//	  },
//	  "stopTimeout": "10s"               // SIGTERM to SIGKILL; Options.StopTimeout if absent
//	}
//
// Each instance finds in its environment, besides the deployer's own
// environment (Options.Env) and Env: PORT, the loopback port it must listen
// on (127.0.0.1:$PORT); BLUEGREEN_REVISION, the revision's name;
// BLUEGREEN_SERVICE, BLUEGREEN_SLOT, BLUEGREEN_DEPLOYMENT_ID; and
// BLUEGREEN_INSTANCE, its index from 0.
type Spec struct {
	// Command is the program to run. Required.
	Command string `json:"command"`
	// Args are its arguments.
	Args []string `json:"args,omitempty"`
	// Env holds extra environment variables. PORT and BLUEGREEN_* are set by
	// the backend and may not appear here.
	Env map[string]string `json:"env,omitempty"`
	// Dir is the working directory; the deployer's if empty.
	Dir string `json:"dir,omitempty"`
	// Instances is how many copies run; DefaultInstances if zero, which
	// the JSON form writes by leaving the field out (ParseSpec refuses an
	// explicit "instances": 0).
	Instances int `json:"instances,omitempty"`
	// Readiness says when an instance is healthy.
	Readiness Readiness `json:"readiness,omitzero"`
	// StopTimeout is how long an instance has to exit after SIGTERM before
	// it is killed; Options.StopTimeout if zero.
	StopTimeout Duration `json:"stopTimeout,omitempty"`
}

// Readiness says how to tell that an instance is healthy.
type Readiness struct {
	// Path is an HTTP path, such as "/healthz", that must answer a GET with
	// a 2xx status. If empty, an instance that accepts TCP connections on
	// its port is healthy.
	Path string `json:"path,omitempty"`
	// Timeout bounds each check; DefaultCheckTime if zero.
	Timeout Duration `json:"timeout,omitempty"`
	// GracePeriod is how long an instance may take to become healthy after
	// it starts; after that the environment reports Failed.
	// DefaultGracePeriod if zero.
	GracePeriod Duration `json:"gracePeriod,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a string such
// as "1.5s", the form people write in configuration.
type Duration time.Duration

// MarshalText writes the duration as a string such as "1.5s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a duration written as Go writes it ("300ms", "2m30s").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf(`%q is not a duration (use a string such as "500ms" or "2s")`, b)
	}
	*d = Duration(v)
	return nil
}

// reservedEnv are variables the backend sets for every instance.
var reservedEnv = []string{"PORT", "BLUEGREEN_"}

// ParseSpec decodes and checks the Spec of rev, and fills in its defaults
// (all but StopTimeout, whose default is the backend's).
// Unknown fields are errors, so a misspelt field is not silently ignored.
// Errors name the field and have code bluegreen.CodeInvalid.
func ParseSpec(rev bluegreen.Revision) (Spec, error) {
	if len(bytes.TrimSpace(rev.Spec)) == 0 {
		return Spec{}, invalid("Revision.Spec", "empty", `give the command to run, such as {"command":"./web"}`)
	}
	dec := json.NewDecoder(bytes.NewReader(rev.Spec))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, invalid("Revision.Spec", err.Error(), "write the spec as documented by local.Spec")
	}
	if dec.More() {
		return Spec{}, invalid("Revision.Spec", "more than one JSON value", "give one JSON object")
	}
	if err := s.check(); err != nil {
		return Spec{}, err
	}
	if s.Instances == 0 && explicitZeroInstances(rev.Spec) {
		return Spec{}, invalid("Revision.Spec.instances", "0 asks for no instances, and an environment without any can never become ready",
			fmt.Sprintf("use 1 to %d, or leave it out for %d; to stop an environment, scale it down", MaxInstances, DefaultInstances))
	}
	return s.withDefaults(), nil
}

// explicitZeroInstances reports whether the spec, which decoded into a Spec
// with Instances 0, says "instances": 0 rather than leaving the field out.
// In Go, Spec.Instances 0 means the default, which Spec.Revision writes by
// leaving the field out.
func explicitZeroInstances(spec []byte) bool {
	var probe struct {
		Instances *int `json:"instances"`
	}
	return json.Unmarshal(spec, &probe) == nil && probe.Instances != nil
}

// withDefaults returns s with its zero fields set to their defaults, but for
// StopTimeout, whose default is the backend's.
func (s Spec) withDefaults() Spec {
	// Empty and absent mean the same; keep one form so Specs compare equal.
	if len(s.Args) == 0 {
		s.Args = nil
	}
	if len(s.Env) == 0 {
		s.Env = nil
	}
	if s.Instances == 0 {
		s.Instances = DefaultInstances
	}
	if s.Readiness.Timeout == 0 {
		s.Readiness.Timeout = Duration(DefaultCheckTime)
	}
	if s.Readiness.GracePeriod == 0 {
		s.Readiness.GracePeriod = Duration(DefaultGracePeriod)
	}
	return s
}

// check reports the first field of s that cannot work.
func (s Spec) check() error {
	const p = "Revision.Spec."
	switch {
	case strings.TrimSpace(s.Command) == "":
		return invalid(p+"command", "empty", "name the program to run")
	case strings.ContainsRune(s.Command, 0):
		return invalid(p+"command", "contains a NUL byte", "name the program to run")
	case s.Instances < 0 || s.Instances > MaxInstances:
		return invalid(p+"instances", fmt.Sprintf("%d is out of range", s.Instances), fmt.Sprintf("use 1 to %d, or leave it out for %d", MaxInstances, DefaultInstances))
	case s.Readiness.Path != "" && !strings.HasPrefix(s.Readiness.Path, "/"):
		return invalid(p+"readiness.path", fmt.Sprintf("%q does not start with /", s.Readiness.Path), `use a path such as "/healthz"`)
	case s.Readiness.Timeout < 0:
		return invalid(p+"readiness.timeout", "negative", `use a duration such as "1s"`)
	case s.Readiness.GracePeriod < 0:
		return invalid(p+"readiness.gracePeriod", "negative", `use a duration such as "30s"`)
	case s.StopTimeout < 0:
		return invalid(p+"stopTimeout", "negative", `use a duration such as "10s"`)
	}
	for _, a := range s.Args {
		if strings.ContainsRune(a, 0) {
			return invalid(p+"args", fmt.Sprintf("%q contains a NUL byte", a), "remove it")
		}
	}
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return invalid(p+"env", fmt.Sprintf("variable %q", k), "use names without '=' or NUL, and values without NUL")
		}
		for _, r := range reservedEnv {
			if k == r || (strings.HasSuffix(r, "_") && strings.HasPrefix(k, r)) {
				return invalid(p+"env", fmt.Sprintf("%s is set by the backend", k), "remove it; read $PORT and $BLUEGREEN_* in the program")
			}
		}
	}
	return nil
}

// Revision returns a revision named name whose Spec is s, after checking s.
func (s Spec) Revision(name string) (bluegreen.Revision, error) {
	if err := s.check(); err != nil {
		return bluegreen.Revision{}, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return bluegreen.Revision{}, fmt.Errorf("local: encoding the spec: %w", err)
	}
	rev := bluegreen.Revision{Name: name, Spec: b}
	if err := rev.Validate("Revision"); err != nil {
		return bluegreen.Revision{}, bluegreen.NewError(bluegreen.CodeInvalid, err)
	}
	return rev, nil
}

func invalid(field, problem, fix string) error {
	return bluegreen.NewError(bluegreen.CodeInvalid, &bluegreen.ConfigError{Field: field, Problem: problem, Fix: fix})
}

// errClosed is returned by ScaleUp after Close.
var errClosed = bluegreen.NewError(bluegreen.CodeFailedPrecondition, errors.New("local: the compute backend is closed"))
