package lambdahook

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the Lambda Invoke error codes that awserr's common
// table does not.
var codes = awserr.Codes{
	"ResourceConflictException":            bluegreen.CodeTransient, // the function is being updated
	"ResourceNotReadyException":            bluegreen.CodeTransient, // the function is being created or is inactive
	"EC2UnexpectedException":               bluegreen.CodeTransient,
	"ENILimitReachedException":             bluegreen.CodeTransient,
	"SubnetIPAddressLimitReachedException": bluegreen.CodeTransient,
	"InvalidRequestContentException":       bluegreen.CodeInvalid,
	"RequestTooLargeException":             bluegreen.CodeInvalid,
	"UnsupportedMediaTypeException":        bluegreen.CodeInvalid,
	"InvalidRuntimeException":              bluegreen.CodeFailedPrecondition,
	"KMSAccessDeniedException":             bluegreen.CodePermission,
	"KMSDisabledException":                 bluegreen.CodeFailedPrecondition,
	"EC2AccessDeniedException":             bluegreen.CodePermission,
}

// ErrorCode classifies an error of the Invoke call with awserr.Classify:
// throttling is CodeThrottled; 5xx responses, connection failures and a
// function being updated are CodeTransient; a missing function is
// CodeNotFound; missing permissions or credentials are CodePermission;
// canceled and expired contexts are CodeCanceled and CodeTimeout.
func (h *Hook) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }
