package route53router

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the Route 53 error codes of ListResourceRecordSets,
// ChangeResourceRecordSets and GetChange that awserr's common table does
// not. InvalidChangeBatch is a conflict: the records changed between the
// read and the batch (a DELETE no longer matches, a CREATE finds a record),
// and the Deployer's retry reads them again.
var codes = awserr.Codes{
	"InvalidChangeBatch":      bluegreen.CodeConflict,
	"InvalidInput":            bluegreen.CodeInvalid,
	"NoSuchHostedZone":        bluegreen.CodeNotFound,
	"NoSuchChange":            bluegreen.CodeNotFound,
	"NoSuchHealthCheck":       bluegreen.CodeNotFound,
	"PriorRequestNotComplete": bluegreen.CodeThrottled,
}

// ErrorCode maps Route 53 and transport errors to bluegreen codes with
// awserr.Classify: throttling (and PriorRequestNotComplete) is
// CodeThrottled, 5xx responses CodeTransient, a missing zone or change
// CodeNotFound, a refused change batch CodeConflict, and records this
// router cannot route (a record pointing at neither slot)
// CodeFailedPrecondition.
func (r *Router) ErrorCode(err error) bluegreen.Code {
	return awserr.Classify(err, codes)
}
