package cwmonitor

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the CloudWatch DescribeAlarms error codes that awserr's
// common table does not. CloudWatch is query-compatible: an error's code is
// the query code ("InvalidParameterValue") where it has one, the shape name
// otherwise; the shape names missing from the common table are listed.
var codes = awserr.Codes{
	"InvalidNextToken":                     bluegreen.CodeTransient, // the next Check starts over
	"InternalServiceError":                 bluegreen.CodeTransient,
	"InternalServiceFault":                 bluegreen.CodeTransient,
	"InvalidParameterCombinationException": bluegreen.CodeInvalid,
	"MissingRequiredParameterException":    bluegreen.CodeInvalid,
}

// ErrorCode classifies an error of Check with awserr.Classify: throttling
// is CodeThrottled; 5xx responses and connection failures are
// CodeTransient; missing permissions or credentials are CodePermission;
// canceled and expired contexts are CodeCanceled and CodeTimeout. Errors
// Check returns already carry their code (a missing named alarm is
// CodeNotFound).
func (m *Monitor) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }
