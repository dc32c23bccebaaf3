package cwmonitor

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
)

// cloudWatchCodes classifies the CloudWatch DescribeAlarms error codes
// that the SDK's generic tables below do not. CloudWatch is
// query-compatible: ErrorCode returns the query code ("InvalidParameterValue")
// where the error has one, the shape name otherwise; both are listed.
var cloudWatchCodes = map[string]bluegreen.Code{
	"ResourceNotFound":                     bluegreen.CodeNotFound,
	"ResourceNotFoundException":            bluegreen.CodeNotFound,
	"InvalidNextToken":                     bluegreen.CodeTransient, // the next Check starts over
	"InternalServiceError":                 bluegreen.CodeTransient,
	"InternalServiceFault":                 bluegreen.CodeTransient,
	"InvalidParameterValue":                bluegreen.CodeInvalid,
	"InvalidParameterValueException":       bluegreen.CodeInvalid,
	"InvalidParameterCombination":          bluegreen.CodeInvalid,
	"InvalidParameterCombinationException": bluegreen.CodeInvalid,
	"MissingParameter":                     bluegreen.CodeInvalid,
	"MissingRequiredParameterException":    bluegreen.CodeInvalid,
}

// ErrorCode classifies an error of Check: throttling is CodeThrottled; 5xx
// responses and connection failures are CodeTransient; missing permissions
// or credentials are CodePermission; canceled and expired contexts are
// CodeCanceled and CodeTimeout. Errors Check returns already carry their
// code (a missing named alarm is CodeNotFound).
func (m *Monitor) ErrorCode(err error) bluegreen.Code { return classify(err, cloudWatchCodes) }

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
