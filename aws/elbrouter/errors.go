package elbrouter

import (
	"errors"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the ELBv2 error codes of DescribeRules,
// DescribeListeners, ModifyRule and ModifyListener that awserr's common
// table does not: a rule or listener the load balancer refuses is bad
// input, not something a retry fixes.
var codes = awserr.Codes{
	"InvalidConfigurationRequest":              bluegreen.CodeInvalid,
	"InvalidLoadBalancerAction":                bluegreen.CodeInvalid,
	"IncompatibleProtocols":                    bluegreen.CodeInvalid,
	"UnsupportedProtocol":                      bluegreen.CodeInvalid,
	"PriorityInUse":                            bluegreen.CodeInvalid,
	"TooManyActions":                           bluegreen.CodeInvalid,
	"TooManyTargetGroups":                      bluegreen.CodeInvalid,
	"TooManyUniqueTargetGroupsPerLoadBalancer": bluegreen.CodeFailedPrecondition,
}

// ErrorCode maps ELBv2 and transport errors to bluegreen codes with
// awserr.Classify: throttling is CodeThrottled, 5xx responses and
// connection failures CodeTransient, missing rules, listeners and target
// groups CodeNotFound, missing permissions CodePermission, refused rule
// changes CodeInvalid, and a route that forwards to a target group of
// neither slot (UnknownTargetGroupError) or has no forward action
// CodeFailedPrecondition.
func (r *Router) ErrorCode(err error) bluegreen.Code {
	var ute *UnknownTargetGroupError
	var nfe *noForwardError
	if errors.As(err, &ute) || errors.As(err, &nfe) {
		return bluegreen.CodeFailedPrecondition
	}
	return awserr.Classify(err, codes)
}
