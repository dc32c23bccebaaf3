package beanstalk

import (
	"encoding/json"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the Elastic Beanstalk error codes that awserr's common
// table does not. Elastic Beanstalk reports most refusals (an environment
// in the wrong state, a name or CNAME taken) as InvalidParameterValue,
// which the common table makes CodeInvalid.
var codes = awserr.Codes{
	"TooManyEnvironmentsException":          bluegreen.CodeFailedPrecondition,
	"TooManyApplicationVersionsException":   bluegreen.CodeFailedPrecondition,
	"InsufficientPrivilegesException":       bluegreen.CodePermission,
	"S3LocationNotInServiceRegionException": bluegreen.CodeInvalid,
	"OperationInProgressFailure":            bluegreen.CodeTransient,
}

// ErrorCode maps Elastic Beanstalk and transport errors to bluegreen codes
// with awserr.Classify: throttling is CodeThrottled, 5xx responses
// CodeTransient, refused parameters CodeInvalid, quotas
// CodeFailedPrecondition, an environment still terminating or busy
// CodeTransient.
func (c *Compute) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }

// ErrorCode classifies errors as Compute.ErrorCode does.
func (r *SwapRouter) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }

func marshalSpec(s Spec) (json.RawMessage, error) { return json.Marshal(s) }
