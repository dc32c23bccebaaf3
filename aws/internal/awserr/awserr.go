// Package awserr classifies the errors of aws-sdk-go-v2 calls into
// bluegreen codes, for every AWS adapter: one table, so that ECS, ELBv2,
// Lambda, CloudWatch and DynamoDB errors mean the same to the Deployer.
package awserr

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
)

// Codes maps service-specific API error codes to bluegreen codes; an adapter
// passes its own to Classify, which consults it before the common table.
type Codes map[string]bluegreen.Code

// common holds the error codes shared by AWS services that the SDK's
// retryer tables do not classify.
var common = Codes{
	"AccessDenied": bluegreen.CodePermission, "AccessDeniedException": bluegreen.CodePermission,
	"UnauthorizedOperation": bluegreen.CodePermission, "UnrecognizedClientException": bluegreen.CodePermission,
	"InvalidClientTokenId": bluegreen.CodePermission, "InvalidSignatureException": bluegreen.CodePermission,
	"SignatureDoesNotMatch": bluegreen.CodePermission, "ExpiredToken": bluegreen.CodePermission,
	"ExpiredTokenException": bluegreen.CodePermission, "MissingAuthenticationToken": bluegreen.CodePermission,
	"MissingAuthenticationTokenException": bluegreen.CodePermission,

	"ValidationError": bluegreen.CodeInvalid, "ValidationException": bluegreen.CodeInvalid,
	"SerializationException": bluegreen.CodeInvalid, "InvalidParameterException": bluegreen.CodeInvalid,
	"InvalidParameterValue": bluegreen.CodeInvalid, "InvalidParameterValueException": bluegreen.CodeInvalid,
	"InvalidParameterCombination": bluegreen.CodeInvalid, "MissingParameter": bluegreen.CodeInvalid,

	"ServiceUnavailable": bluegreen.CodeTransient, "ServiceUnavailableException": bluegreen.CodeTransient,
	"InternalFailure": bluegreen.CodeTransient, "InternalError": bluegreen.CodeTransient,
	"InternalServerError": bluegreen.CodeTransient, "InternalServiceException": bluegreen.CodeTransient,
	"ServerException": bluegreen.CodeTransient, "ServiceException": bluegreen.CodeTransient,
	"RequestTimeout": bluegreen.CodeTransient, "RequestTimeoutException": bluegreen.CodeTransient,

	// LimitExceededException is not here: the SDK's retryer counts it as
	// throttling, and so does Classify unless a service's table says
	// otherwise (ECS and Application Auto Scaling use it for quotas).
	"OperationNotPermitted": bluegreen.CodeFailedPrecondition,
	"ResourceInUse":         bluegreen.CodeFailedPrecondition, "ResourceInUseException": bluegreen.CodeFailedPrecondition,
}

// Classify maps an AWS SDK error to a bluegreen code: first a code already
// in err's chain (a *bluegreen.Error, a context error, a
// *bluegreen.ConfigError, which is CodeInvalid), then the service's
// own codes, the SDK retryer's throttling and retryable codes, the common
// table, "...NotFound" names, the HTTP status, the fault side, and
// connection errors. It never returns a code for a nil error.
func Classify(err error, service Codes) bluegreen.Code {
	if err == nil {
		return bluegreen.CodeUnknown
	}
	if code := bluegreen.ErrorCode(err); code != bluegreen.CodeUnknown {
		return code
	}
	var ce *bluegreen.ConfigError
	if errors.As(err, &ce) {
		return bluegreen.CodeInvalid
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
		if c, ok := common[code]; ok {
			return c
		}
		switch {
		case strings.HasSuffix(code, "NotFound"), strings.HasSuffix(code, "NotFoundException"):
			return bluegreen.CodeNotFound
		case strings.HasPrefix(code, "Throttl"):
			return bluegreen.CodeThrottled
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch s := status.HTTPStatusCode(); {
		case s == 429:
			return bluegreen.CodeThrottled
		case s == 403:
			return bluegreen.CodePermission
		case s >= 500:
			return bluegreen.CodeTransient
		}
	}
	if apiErr != nil && apiErr.ErrorFault() == smithy.FaultServer {
		return bluegreen.CodeTransient
	}
	var canceled *smithy.CanceledError
	if errors.As(err, &canceled) {
		return bluegreen.CodeCanceled
	}
	if (retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		return bluegreen.CodeTransient
	}
	return bluegreen.CodeUnknown
}
