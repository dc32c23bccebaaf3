package elbrouter_test

import (
	"log/slog"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// forwardActions is a forward action to the given target groups and
// weights, as another tool (the console, say) would write it.
func forwardActions(weights map[string]int) []elbtypes.Action {
	fc := &elbtypes.ForwardActionConfig{}
	for _, arn := range slices.Sorted(maps.Keys(weights)) {
		fc.TargetGroups = append(fc.TargetGroups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(int32(weights[arn]))})
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: fc}}
}

// quiet discards the router's log lines in tests.
var quiet = slog.New(slog.DiscardHandler)
