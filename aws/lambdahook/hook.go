package lambdahook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/hookwire"
)

// InvokeAPI is the part of *lambda.Client a Hook uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Options configure a Hook.
type Options struct {
	// Client invokes the function; a *lambda.Client. Required.
	Client InvokeAPI
	// Function is the function's name, ARN or partial ARN, as Invoke takes
	// it (the hookTargetArn of an ECS lifecycle hook). Required.
	Function string
	// Qualifier is a version or alias to invoke; the unqualified function if empty.
	Qualifier string
	// ServiceARN returns the serviceArn of a service's payloads; the service
	// name if nil. Return the ECS service ARN for functions that parse it.
	ServiceARN func(service string) string
	// RevisionARN returns the name of an environment in the payload
	// (targetServiceRevisionArn and the keys of the weight maps); the
	// revision name, such as "web:42", if nil.
	RevisionARN func(env bluegreen.Environment) string
	// ResourceARN returns the resourceArn of a payload; if nil, the ECS
	// service-deployment ARN when ServiceARN returns an ECS service ARN, else
	// the deployment id.
	ResourceARN func(in bluegreen.HookInput) string
	// Logger receives a debug record per invocation (function, deployment,
	// stage, status, duration; never payloads or hook details). Nothing is
	// logged if nil.
	Logger *slog.Logger
}

// Hook is a bluegreen.Hook that invokes a Lambda function. It is safe for
// concurrent use.
type Hook struct {
	opts Options
	wire hookwire.Builder
}

var (
	_ bluegreen.Hook       = (*Hook)(nil)
	_ bluegreen.ErrorCoder = (*Hook)(nil)
)

// New returns a Hook that invokes o.Function.
func New(o Options) (*Hook, error) {
	if o.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "lambdahook.Options.Client", Problem: "nil", Fix: "pass lambda.NewFromConfig(cfg)"}
	}
	if strings.TrimSpace(o.Function) == "" {
		return nil, &bluegreen.ConfigError{Field: "lambdahook.Options.Function", Problem: "empty",
			Fix: `name the function to invoke, such as "my-hook" or its ARN`}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	wire := hookwire.NewBuilder(hookwire.Naming{ServiceARN: o.ServiceARN, RevisionARN: o.RevisionARN, ResourceARN: o.ResourceARN},
		o.Function, o.Qualifier)
	return &Hook{opts: o, wire: wire}, nil
}

// maxReason bounds the part of a function's error message kept in a Reason.
const maxReason = 512

// Run invokes the function with the payload of in and reads its answer. A
// function error or a malformed response is a FAILED result with the
// reason, not an error; an error of the Invoke call is returned with a
// bluegreen code (see ErrorCode).
func (h *Hook) Run(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
	payload, err := json.Marshal(h.Payload(in))
	if err != nil {
		// Only invalid Details can fail here; the Deployer validates them.
		return bluegreen.HookResult{}, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("lambdahook: encode payload: %w", err))
	}
	invoke := &lambda.InvokeInput{
		FunctionName:   aws.String(h.opts.Function),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        payload,
	}
	if h.opts.Qualifier != "" {
		invoke.Qualifier = aws.String(h.opts.Qualifier)
	}
	start := time.Now()
	out, err := h.opts.Client.Invoke(ctx, invoke)
	if err != nil {
		code := h.ErrorCode(err)
		h.opts.Logger.DebugContext(ctx, "lambda hook invoke failed", "function", h.opts.Function,
			"deployment", in.DeploymentID, "stage", in.Stage, "code", code, "duration", time.Since(start))
		return bluegreen.HookResult{}, bluegreen.NewError(code, fmt.Errorf("lambdahook: invoke %s: %w", h.opts.Function, err))
	}
	res := h.result(out)
	h.opts.Logger.DebugContext(ctx, "lambda hook answered", "function", h.opts.Function,
		"deployment", in.DeploymentID, "stage", in.Stage, "status", res.Status, "duration", time.Since(start))
	return res, nil
}

// result reads an Invoke output.
func (h *Hook) result(out *lambda.InvokeOutput) bluegreen.HookResult {
	if out.FunctionError != nil {
		return bluegreen.HookResult{Status: bluegreen.HookFailed,
			Reason: fmt.Sprintf("lambda function %s failed (%s): %s", h.opts.Function, *out.FunctionError, functionError(out.Payload))}
	}
	res, err := ParseResponse(out.Payload)
	if err != nil {
		return bluegreen.HookResult{Status: bluegreen.HookFailed,
			Reason: fmt.Sprintf("lambda function %s answered a malformed response: %v", h.opts.Function, err)}
	}
	if res.Status == bluegreen.HookFailed {
		res.Reason = fmt.Sprintf("lambda function %s answered FAILED", h.opts.Function)
	}
	return res
}

// functionError summarizes the error payload Lambda returns with a function
// error: {"errorType": "...", "errorMessage": "..."}.
func functionError(payload []byte) string {
	var e struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal(payload, &e); err != nil || (e.Type == "" && e.Message == "") {
		return "no error details"
	}
	s := e.Message
	if e.Type != "" {
		s = e.Type + ": " + s
	}
	if len(s) > maxReason {
		s = s[:maxReason] + "…"
	}
	return s
}
