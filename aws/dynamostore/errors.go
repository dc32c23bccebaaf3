package dynamostore

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
)

// dynamoCodes classifies the DynamoDB error codes that the SDK's generic
// tables below do not.
var dynamoCodes = map[string]bluegreen.Code{
	"ConditionalCheckFailedException":          bluegreen.CodeConflict,
	"TransactionConflictException":             bluegreen.CodeConflict,
	"ResourceNotFoundException":                bluegreen.CodeNotFound,
	"InternalServerError":                      bluegreen.CodeTransient,
	"ServiceUnavailable":                       bluegreen.CodeTransient,
	"ReplicatedWriteConflictException":         bluegreen.CodeTransient,
	"ItemCollectionSizeLimitExceededException": bluegreen.CodeInvalid,
}

// ErrorCode classifies an error of Load or Save: a lost conditional write is
// CodeConflict; throttling (ProvisionedThroughputExceededException,
// RequestLimitExceeded, ThrottlingException) is CodeThrottled; 5xx
// responses and connection failures are CodeTransient; a missing table is
// CodeNotFound; missing permissions or credentials are CodePermission;
// canceled and expired contexts are CodeCanceled and CodeTimeout. Errors
// Load and Save return already carry their code.
func (s *Store) ErrorCode(err error) bluegreen.Code { return classify(err, dynamoCodes) }

// classify maps an AWS SDK error to a bluegreen code: first the codes
// already in err's chain (a *bluegreen.Error, a context error), then the
// service's own codes, then the SDK retryer's tables of throttling and
// retryable codes, then common authorization and validation codes, the HTTP
// status, and connection errors.
func classify(err error, service map[string]bluegreen.Code) bluegreen.Code {
	if code := bluegreen.ErrorCode(err); code != bluegreen.CodeUnknown {
		return code
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if c, ok := service[code]; ok {
			return c
		}
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return bluegreen.CodeThrottled
		}
		if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
			return bluegreen.CodeTransient
		}
		switch code {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException",
			"InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredToken",
			"ExpiredTokenException", "MissingAuthenticationToken", "MissingAuthenticationTokenException":
			return bluegreen.CodePermission
		case "ValidationException", "ValidationError", "SerializationException":
			return bluegreen.CodeInvalid
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch s := status.HTTPStatusCode(); {
		case s == 429:
			return bluegreen.CodeThrottled
		case s >= 500:
			return bluegreen.CodeTransient
		}
	}
	if apiErr != nil && apiErr.ErrorFault() == smithy.FaultServer {
		return bluegreen.CodeTransient
	}
	if (retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		return bluegreen.CodeTransient
	}
	return bluegreen.CodeUnknown
}
