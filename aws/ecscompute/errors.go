package ecscompute

import (
	"context"
	"errors"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
)

// errorCode classifies an AWS SDK error: by its API error code first, then by
// its HTTP status.
func errorCode(err error) bluegreen.Code {
	switch {
	case err == nil:
		return bluegreen.CodeUnknown
	case errors.Is(err, context.Canceled):
		return bluegreen.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return bluegreen.CodeTimeout
	}
	var ce *bluegreen.ConfigError
	if errors.As(err, &ce) {
		return bluegreen.CodeInvalid
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if c := apiCode(apiErr.ErrorCode()); c != bluegreen.CodeUnknown {
			return c
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == http.StatusTooManyRequests:
			return bluegreen.CodeThrottled
		case s == http.StatusForbidden:
			return bluegreen.CodePermission
		case s >= 500:
			return bluegreen.CodeTransient
		}
	}
	var canceled *smithy.CanceledError
	if errors.As(err, &canceled) {
		return bluegreen.CodeCanceled
	}
	return bluegreen.CodeUnknown
}

// apiCode maps an AWS error code to a bluegreen code.
func apiCode(code string) bluegreen.Code {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "ProvisionedThroughputExceededException", "SlowDown", "PriorRequestNotComplete", "RequestThrottled",
		"EC2ThrottledException":
		return bluegreen.CodeThrottled
	case "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalError", "InternalServerError",
		"InternalServiceException", "ServerException", "RequestTimeout", "RequestTimeoutException", "ConcurrentUpdateException":
		return bluegreen.CodeTransient
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
		"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch", "MissingAuthenticationToken":
		return bluegreen.CodePermission
	case "ValidationError", "ValidationException", "InvalidParameterException", "InvalidParameterValue",
		"InvalidParameterCombination", "MissingParameter", "InvalidConfigurationRequest", "ClientException",
		"TooManyTargetGroups", "TooManyActions", "PriorityInUse", "IncompatibleProtocols", "InvalidLoadBalancerAction", "UnsupportedProtocol":
		return bluegreen.CodeInvalid
	case "OperationNotPermitted", "ServiceNotActiveException", "UnsupportedFeatureException", "LimitExceededException",
		"PlatformUnknownException", "PlatformTaskDefinitionIncompatibilityException", "ResourceInUse", "ResourceInUseException":
		return bluegreen.CodeFailedPrecondition
	}
	if strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundException") {
		return bluegreen.CodeNotFound
	}
	if strings.HasPrefix(code, "Throttl") {
		return bluegreen.CodeThrottled
	}
	return bluegreen.CodeUnknown
}
