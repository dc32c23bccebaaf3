package httphook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/hookwire"
)

// Payload is the ECS lifecycle-hook payload, shared with aws/lambdahook.
type Payload = hookwire.Payload

// ExecutionDetails is the executionDetails object of a Payload.
type ExecutionDetails = hookwire.ExecutionDetails

// Response is the ECS lifecycle-hook answer, shared with aws/lambdahook.
type Response = hookwire.Response

// Request is the body of a hook call: the ECS payload's fields, and the
// bluegreen.HookInput under "bluegreen".
type Request struct {
	Payload
	// Input is the hook input, without Details (see Payload.HookDetails)
	// and without the revisions' Spec.
	Input bluegreen.HookInput `json:"bluegreen"`
}

// MaxBodyBytes bounds a request or response body: 6 MiB, Lambda's limit
// on a synchronous payload.
const MaxBodyBytes = 6 << 20

// newRequest returns the request body of in with payload p.
func newRequest(p Payload, in bluegreen.HookInput) Request {
	in.Details = nil
	in.Green.Revision.Spec = nil
	if in.Blue != nil {
		blue := *in.Blue
		blue.Revision.Spec = nil
		in.Blue = &blue
	}
	return Request{Payload: p, Input: in}
}

// DecodeRequest reads a request body into the bluegreen.HookInput it
// carries: the "bluegreen" object, with the details from hookDetails. The
// stage of the "bluegreen" object and lifecycleStage must agree; a body
// without the "bluegreen" object (a sender that speaks only the ECS
// payload) gets its stage from lifecycleStage and its deployment id from
// the last path segment of resourceArn. It does not check the signature:
// call Verify first.
func DecodeRequest(body []byte) (bluegreen.HookInput, error) {
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return bluegreen.HookInput{}, fmt.Errorf("httphook: request body is not the hook request JSON: %w", err)
	}
	stage, err := bluegreen.ParseStage(req.LifecycleStage)
	if err != nil {
		return bluegreen.HookInput{}, fmt.Errorf("httphook: lifecycleStage: %w", err)
	}
	in := req.Input
	switch {
	case in.Stage == 0:
		in.Stage = stage
	case in.Stage != stage:
		return bluegreen.HookInput{}, fmt.Errorf("httphook: lifecycleStage %s and bluegreen.stage %s disagree", req.LifecycleStage, in.Stage)
	}
	if in.DeploymentID == "" {
		in.DeploymentID = lastSegment(req.ResourceARN)
	}
	if in.DeploymentID == "" {
		return bluegreen.HookInput{}, errors.New("httphook: request names no deployment: bluegreen.deploymentId and resourceArn are empty")
	}
	in.Details = nil
	if d := bytes.TrimSpace(req.HookDetails); len(d) > 0 && string(d) != "null" {
		if d[0] != '{' {
			return bluegreen.HookInput{}, errors.New("httphook: hookDetails is not a JSON object")
		}
		in.Details = append(json.RawMessage(nil), d...)
	}
	return in, nil
}

// lastSegment returns what follows the last "/" of an ARN or id.
func lastSegment(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}
