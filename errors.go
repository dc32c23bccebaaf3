package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code classifies an error so that callers can act on it without parsing
// messages. Test for a code with errors.Is and the matching Err sentinel, or
// read it with ErrorCode.
type Code uint8

// Error codes.
const (
	// CodeUnknown is an error that no backend classified.
	CodeUnknown Code = iota
	// CodeInvalid is bad input: a configuration, revision or argument that cannot work.
	CodeInvalid
	// CodeNotFound is a missing resource (service, environment, record).
	CodeNotFound
	// CodeConflict is a lost compare-and-swap: someone else changed the record first.
	CodeConflict
	// CodeInProgress is a second deployment of a service while one is in flight.
	CodeInProgress
	// CodeTransient is a failure that may succeed if tried again (5xx, reset connection).
	CodeTransient
	// CodeThrottled is a request refused for rate; it may succeed later.
	CodeThrottled
	// CodeTimeout is an operation that ran out of time.
	CodeTimeout
	// CodePermission is a request refused for lack of rights.
	CodePermission
	// CodeCanceled is work stopped because the caller's context was canceled.
	CodeCanceled
	// CodeRolledBack is a deployment that ended in a rollback.
	CodeRolledBack
	// CodeUnhealthy is an environment that failed its health checks.
	CodeUnhealthy
	// CodeFailedPrecondition is a resource in a state that does not allow the
	// operation (an ECS service without the EXTERNAL deployment controller, say).
	CodeFailedPrecondition
	numCodes
)

var codeNames = [...]string{
	CodeUnknown:            "unknown",
	CodeInvalid:            "invalid",
	CodeNotFound:           "not found",
	CodeConflict:           "conflict",
	CodeInProgress:         "in progress",
	CodeTransient:          "transient",
	CodeThrottled:          "throttled",
	CodeTimeout:            "timeout",
	CodePermission:         "permission denied",
	CodeCanceled:           "canceled",
	CodeRolledBack:         "rolled back",
	CodeUnhealthy:          "unhealthy",
	CodeFailedPrecondition: "failed precondition",
}

// String returns a short lower-case name of the code.
func (c Code) String() string {
	if c < numCodes {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Retryable reports whether an operation that failed with this code may
// succeed if tried again unchanged.
func (c Code) Retryable() bool {
	return c == CodeTransient || c == CodeThrottled || c == CodeTimeout
}

// codeSentinel is the value behind the Err* sentinels: errors.Is(err, ErrX)
// holds for any *Error in err's chain with the sentinel's code.
type codeSentinel struct{ code Code }

func (s *codeSentinel) Error() string { return "bluegreen: " + s.code.String() }

// Sentinels for errors.Is, one per code.
var (
	ErrInvalid            error = &codeSentinel{CodeInvalid}
	ErrNotFound           error = &codeSentinel{CodeNotFound}
	ErrConflict           error = &codeSentinel{CodeConflict}
	ErrInProgress         error = &codeSentinel{CodeInProgress}
	ErrTransient          error = &codeSentinel{CodeTransient}
	ErrThrottled          error = &codeSentinel{CodeThrottled}
	ErrTimeout            error = &codeSentinel{CodeTimeout}
	ErrPermission         error = &codeSentinel{CodePermission}
	ErrCanceled           error = &codeSentinel{CodeCanceled}
	ErrRolledBack         error = &codeSentinel{CodeRolledBack}
	ErrUnhealthy          error = &codeSentinel{CodeUnhealthy}
	ErrFailedPrecondition error = &codeSentinel{CodeFailedPrecondition}
)

// Error is the error type of this package. The Deployer wraps each backend
// error exactly once in an Error that carries the stage and operation where it
// happened and its code; backends may also return an *Error themselves (see
// NewError) to classify what they return.
type Error struct {
	// Code classifies the error.
	Code Code
	// Service is the service being deployed, if any.
	Service string
	// Stage is the lifecycle stage in which the error happened, if any.
	Stage Stage
	// Op names the operation that failed, such as "Compute.ScaleUp".
	Op string
	// Err is the underlying error.
	Err error
}

// NewError returns an error with the given code wrapping err. Backends use it
// to classify the errors they return.
func NewError(code Code, err error) error { return &Error{Code: code, Err: err} }

// Error describes the error with its context.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("bluegreen")
	if e.Service != "" {
		b.WriteString(": service ")
		b.WriteString(e.Service)
	}
	if e.Stage != 0 {
		b.WriteString(": ")
		b.WriteString(e.Stage.String())
	}
	if e.Op != "" {
		b.WriteString(": ")
		b.WriteString(e.Op)
	}
	// An error of this package inside says "bluegreen" and its code itself
	// ("invalid ..." for a ConfigError): they are not repeated.
	inner := ""
	if e.Err != nil {
		inner = strings.TrimPrefix(e.Err.Error(), "bluegreen: ")
	}
	if code := e.Code.String(); !strings.HasPrefix(inner, code) {
		b.WriteString(": ")
		b.WriteString(code)
	}
	if inner != "" {
		b.WriteString(": ")
		b.WriteString(inner)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's code.
func (e *Error) Is(target error) bool {
	s, ok := target.(*codeSentinel)
	return ok && s.code == e.Code
}

// ErrorCoder is implemented by backends that can classify their own raw
// errors (an AWS adapter maps API error codes, for example). The Deployer
// asks it when it wraps an error the backend returned.
type ErrorCoder interface {
	ErrorCode(err error) Code
}

// ErrorCode returns the code of err: the code of the outermost *Error in its
// chain, CodeCanceled or CodeTimeout for context errors, or CodeUnknown.
func ErrorCode(err error) Code {
	if err == nil {
		return CodeUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	}
	return CodeUnknown
}

// wrap wraps a backend error once, with the stage and operation. If err is
// already an *Error with a stage, it is returned unchanged so errors are never
// wrapped twice.
func wrap(backend any, service string, stage Stage, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.Stage != 0 {
		return err
	}
	code := ErrorCode(err)
	if code == CodeUnknown {
		if c, ok := backend.(ErrorCoder); ok {
			code = c.ErrorCode(err)
		}
	}
	return &Error{Code: code, Service: service, Stage: stage, Op: op, Err: err}
}

// ConfigError reports bad input: which field, what is wrong with it and how
// to fix it. errors.Is(err, ErrInvalid) holds for it.
type ConfigError struct {
	// Field is the path of the offending field, such as "Shift.StepPercent".
	Field string
	// Problem says what is wrong with the value.
	Problem string
	// Fix says what would make it work.
	Fix string
}

// Error describes the problem and its fix.
func (e *ConfigError) Error() string {
	s := "bluegreen: invalid " + e.Field + ": " + e.Problem
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid }

// InProgressError is returned when a service already has a deployment in
// flight, held by another owner. errors.Is(err, ErrInProgress) holds for it.
type InProgressError struct {
	// Service is the service being deployed.
	Service string
	// DeploymentID is the deployment in flight, if known.
	DeploymentID string
	// Holder is the owner of the lease.
	Holder string
	// Expires is when the holder's lease expires unless it renews it (or,
	// for a lease kept by the holder's heartbeat, unless the holder beats
	// again); zero for a deployment in flight in this process.
	Expires time.Time
}

// Error names the holder of the lease.
func (e *InProgressError) Error() string {
	s := fmt.Sprintf("bluegreen: service %s: a deployment is in progress", e.Service)
	if e.DeploymentID != "" {
		s += " (" + e.DeploymentID + ")"
	}
	if e.Holder != "" {
		s += ", held by " + e.Holder
	}
	if !e.Expires.IsZero() {
		s += " until " + e.Expires.UTC().Format(time.RFC3339)
	}
	return s + "; wait for it to finish, roll it back, or let its lease expire if its owner died"
}

// Is makes errors.Is(err, ErrInProgress) hold.
func (e *InProgressError) Is(target error) bool { return target == ErrInProgress }
