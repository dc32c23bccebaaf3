package lambdahook

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/hookwire"
)

// Payload is the event a hook function receives: the shape of the ECS
// lifecycle-hook Lambda event (see the package documentation for how each
// field is filled). It is shared with hooks/httphook, which sends the same
// payload over HTTPS.
type Payload = hookwire.Payload

// ExecutionDetails is the executionDetails object of a Payload: serviceArn,
// targetServiceRevisionArn, testTrafficWeights and productionTrafficWeights.
type ExecutionDetails = hookwire.ExecutionDetails

// Payload returns the payload h sends for in. It is what Run sends; it is
// exported so that tests of hook functions can build real events.
func (h *Hook) Payload(in bluegreen.HookInput) Payload { return h.wire.Payload(in) }
