package lambdahook

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
)

// lambdaCodes classifies the Lambda Invoke error codes that the SDK's
// generic tables below do not.
var lambdaCodes = map[string]bluegreen.Code{
	"ResourceNotFoundException":            bluegreen.CodeNotFound,
	"ResourceConflictException":            bluegreen.CodeTransient, // the function is being updated
	"ResourceNotReadyException":            bluegreen.CodeTransient, // the function is being created or is inactive
	"ServiceException":                     bluegreen.CodeTransient,
	"EC2UnexpectedException":               bluegreen.CodeTransient,
	"ENILimitReachedException":             bluegreen.CodeTransient,
	"SubnetIPAddressLimitReachedException": bluegreen.CodeTransient,
	"InvalidRequestContentException":       bluegreen.CodeInvalid,
	"InvalidParameterValueException":       bluegreen.CodeInvalid,
	"RequestTooLargeException":             bluegreen.CodeInvalid,
	"UnsupportedMediaTypeException":        bluegreen.CodeInvalid,
	"InvalidRuntimeException":              bluegreen.CodeFailedPrecondition,
	"KMSAccessDeniedException":             bluegreen.CodePermission,
	"KMSDisabledException":                 bluegreen.CodeFailedPrecondition,
	"EC2AccessDeniedException":             bluegreen.CodePermission,
}

// ErrorCode classifies an error of the Invoke call: throttling is
// CodeThrottled; 5xx responses, connection failures and a function being
// updated are CodeTransient; a missing function is CodeNotFound; missing
// permissions or credentials are CodePermission; canceled and expired
// contexts are CodeCanceled and CodeTimeout.
func (h *Hook) ErrorCode(err error) bluegreen.Code { return classify(err, lambdaCodes) }

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
