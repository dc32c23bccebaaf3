package ecscompute

import (
	"errors"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the ECS, Application Auto Scaling and ELBv2
// (DescribeTargetHealth) error codes that awserr's common table does not.
var codes = awserr.Codes{
	// ECS and Application Auto Scaling use LimitExceededException for
	// quotas (task sets per service, scalable targets), not for rates.
	"LimitExceededException": bluegreen.CodeFailedPrecondition,
	// ECS.
	"ClientException":                                bluegreen.CodeInvalid,
	"ServiceNotActiveException":                      bluegreen.CodeFailedPrecondition,
	"UnsupportedFeatureException":                    bluegreen.CodeFailedPrecondition,
	"PlatformUnknownException":                       bluegreen.CodeFailedPrecondition,
	"PlatformTaskDefinitionIncompatibilityException": bluegreen.CodeFailedPrecondition,
	// Application Auto Scaling: another update of the target is under way.
	"ConcurrentUpdateException": bluegreen.CodeTransient,
	// ELBv2 DescribeTargetHealth.
	"InvalidTarget":     bluegreen.CodeInvalid,
	"HealthUnavailable": bluegreen.CodeTransient,
}

// ErrorCode maps ECS, ELBv2 and Application Auto Scaling errors to
// bluegreen codes with awserr.Classify: throttling is CodeThrottled, 5xx
// responses and connection failures CodeTransient, missing clusters,
// services and task sets CodeNotFound, missing permissions CodePermission,
// bad parameters CodeInvalid, and a service whose deployment controller is
// not EXTERNAL (NotExternalError), that is not ACTIVE, whose desired count
// is 0 (ZeroDesiredError), that has a task set in no slot
// (TaskSetSlotError) or another deployment's task set in green's slot
// (SlotInUseError) CodeFailedPrecondition.
func (c *Compute) ErrorCode(err error) bluegreen.Code {
	var (
		ne *NotExternalError
		ze *ZeroDesiredError
		se *TaskSetSlotError
		ue *SlotInUseError
	)
	if errors.As(err, &ne) || errors.As(err, &ze) || errors.As(err, &se) || errors.As(err, &ue) {
		return bluegreen.CodeFailedPrecondition
	}
	return awserr.Classify(err, codes)
}
