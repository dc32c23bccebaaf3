package lambdaalias

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the Lambda error codes that awserr's common table does not.
var codes = awserr.Codes{
	"ResourceConflictException":          bluegreen.CodeTransient, // an update is in progress; it ends
	"ResourceNotReadyException":          bluegreen.CodeTransient,
	"PreconditionFailedException":        bluegreen.CodeConflict, // someone else changed the alias or the function
	"CodeStorageExceededException":       bluegreen.CodeFailedPrecondition,
	"CodeVerificationFailedException":    bluegreen.CodeFailedPrecondition,
	"InvalidCodeSignatureException":      bluegreen.CodeFailedPrecondition,
	"CodeSigningConfigNotFoundException": bluegreen.CodeFailedPrecondition,
	"InvalidRequestContentException":     bluegreen.CodeInvalid,
	"RequestTooLargeException":           bluegreen.CodeInvalid,
}

// ErrorCode classifies an error of the Lambda API with awserr.Classify:
// throttling is CodeThrottled; 5xx responses, connection failures and an
// update in progress are CodeTransient; a missing function or version
// CodeNotFound; a function or alias changed by someone else meanwhile
// CodeConflict; missing permissions CodePermission.
func (b *Backend) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }
