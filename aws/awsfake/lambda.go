package awsfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// LambdaFunc is the Go code behind a fake Lambda function: it receives the
// invocation payload and returns the response payload. An error is reported
// the way Lambda reports a function error: status 200, the
// X-Amz-Function-Error header and an error payload. Return a *LambdaError to
// choose the errorType.
type LambdaFunc func(ctx context.Context, payload []byte) ([]byte, error)

// LambdaError is a function error with a chosen type, such as a runtime's
// "Runtime.ExitError" or a handler's exception class.
type LambdaError struct {
	// Type is reported as errorType.
	Type string
	// Message is reported as errorMessage.
	Message string
}

// Error returns the message.
func (e *LambdaError) Error() string { return e.Message }

// Invocation records one Invoke call the fake served.
type Invocation struct {
	// Function is the function name, resolved from a name or an ARN.
	Function string
	// Qualifier is the version or alias asked for, if any.
	Qualifier string
	// Payload is the request payload.
	Payload []byte
}

// lambdaMaxPayload is Lambda's limit on a synchronous request payload.
const lambdaMaxPayload = 6 << 20

// Lambda is a fake of the AWS Lambda Invoke API (REST JSON:
// POST /2015-03-31/functions/{FunctionName}/invocations) whose functions are
// Go funcs, and of the control-plane operations that update a function's
// code, publish versions and route aliases (see AddFunction). Serve it with
// Serve or ServeTest and reach it with Config, or with InProcessConfig
// without a socket. It is safe for concurrent use.
type Lambda struct {
	// Faults counts calls per operation ("Invoke") and injects faults.
	Faults Faults

	mu          sync.Mutex
	funcs       map[string]LambdaFunc
	invocations []Invocation
	ctl         *lambdaControl // the control plane (lambda_versions.go)
}

// NewLambda returns a fake with no functions.
func NewLambda() *Lambda { return &Lambda{funcs: map[string]LambdaFunc{}} }

// SetFunction creates or replaces the function name.
func (l *Lambda) SetFunction(name string, fn LambdaFunc) {
	l.mu.Lock()
	l.funcs[name] = fn
	l.mu.Unlock()
}

// DeleteFunction removes the function name; invoking it then fails with
// ResourceNotFoundException.
func (l *Lambda) DeleteFunction(name string) {
	l.mu.Lock()
	delete(l.funcs, name)
	l.mu.Unlock()
}

// Invocations returns the invocations served so far, oldest first (faulted
// calls and calls of unknown functions are not included).
func (l *Lambda) Invocations() []Invocation {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Invocation, len(l.invocations))
	for i, inv := range l.invocations {
		inv.Payload = append([]byte(nil), inv.Payload...)
		out[i] = inv
	}
	return out
}

// ServeHTTP serves the Invoke operation, and the control-plane operations
// of lambda_versions.go and lambda_alias.go.
func (l *Lambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.serveControl(w, r) {
		return
	}
	name, ok := lambdaFunctionFromPath(r.URL.EscapedPath())
	if !ok || r.Method != http.MethodPost {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	if f, faulted := l.Faults.Check("Invoke"); faulted {
		lambdaError(w, f.Status, f.Code, f.Message)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, lambdaMaxPayload+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "read body: "+err.Error())
		return
	}
	if len(body) > lambdaMaxPayload {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(body) > 0 && !json.Valid(body) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	function, qualifier := lambdaResolveName(name)
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	l.mu.Lock()
	fn, found := l.funcs[function]
	if found {
		l.invocations = append(l.invocations, Invocation{Function: function, Qualifier: qualifier, Payload: append([]byte(nil), body...)})
	}
	l.mu.Unlock()
	if !found {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+lambdaARN(function, qualifier))
		return
	}

	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "Event":
		// An asynchronous invocation's result is discarded, as Lambda does.
		go fn(context.WithoutCancel(r.Context()), body)
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "unknown invocation type "+typ)
		return
	}

	out, err := fn(r.Context(), body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if err != nil {
		typ := "Error"
		var le *LambdaError
		if errors.As(err, &le) && le.Type != "" {
			typ = le.Type
		}
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{"errorMessage": err.Error(), "errorType": typ})
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// lambdaFunctionFromPath extracts the FunctionName label from
// /2015-03-31/functions/{FunctionName}/invocations.
func lambdaFunctionFromPath(escaped string) (string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/2015-03-31/functions/")
	if !ok {
		return "", false
	}
	label, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || label == "" || strings.Contains(label, "/") {
		return "", false
	}
	name, err := url.PathUnescape(label)
	return name, err == nil
}

// lambdaResolveName accepts the forms Lambda accepts: a name, a name with a
// qualifier ("my-function:v1"), a partial ARN ("123456789012:function:my-function")
// or a full ARN, with or without a qualifier.
func lambdaResolveName(s string) (function, qualifier string) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn": // arn:aws:lambda:region:account:function:name[:qualifier]
		function = parts[6]
		if len(parts) > 7 {
			qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function": // account:function:name[:qualifier]
		function = parts[2]
		if len(parts) > 3 {
			qualifier = parts[3]
		}
	default:
		function = parts[0]
		if len(parts) > 1 {
			qualifier = parts[1]
		}
	}
	return function, qualifier
}

func lambdaARN(function, qualifier string) string {
	arn := "arn:aws:lambda:us-east-1:123456789012:function:" + function
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// lambdaError writes an error the way the REST JSON protocol carries it: the
// code in X-Amzn-ErrorType and the message in the body.
func lambdaError(w http.ResponseWriter, status int, code, message string) {
	typ := "User"
	if status >= 500 {
		typ = "Service"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": typ, "message": message})
}
