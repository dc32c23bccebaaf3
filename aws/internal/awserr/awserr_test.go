package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
)

func TestClassify(t *testing.T) {
	api := func(code string, fault smithy.ErrorFault) error {
		return fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault})
	}
	service := Codes{"ResourceConflictException": bluegreen.CodeTransient}
	tests := []struct {
		name string
		err  error
		want bluegreen.Code
	}{
		{"nil", nil, bluegreen.CodeUnknown},
		{"already classified", bluegreen.NewError(bluegreen.CodeConflict, errors.New("x")), bluegreen.CodeConflict},
		{"bad configuration", fmt.Errorf("x: %w", &bluegreen.ConfigError{Field: "F", Problem: "empty"}), bluegreen.CodeInvalid},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), bluegreen.CodeCanceled},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), bluegreen.CodeTimeout},
		{"service table first", api("ResourceConflictException", smithy.FaultClient), bluegreen.CodeTransient},
		{"throttling", api("ThrottlingException", smithy.FaultClient), bluegreen.CodeThrottled},
		{"throttling, ELB spelling", api("Throttling", smithy.FaultClient), bluegreen.CodeThrottled},
		{"dynamodb throughput", api("ProvisionedThroughputExceededException", smithy.FaultClient), bluegreen.CodeThrottled},
		{"limit exceeded is throttling unless the service says", api("LimitExceededException", smithy.FaultClient), bluegreen.CodeThrottled},
		{"access denied", api("AccessDeniedException", smithy.FaultClient), bluegreen.CodePermission},
		{"validation", api("ValidationException", smithy.FaultClient), bluegreen.CodeInvalid},
		{"not found", api("ServiceNotFoundException", smithy.FaultClient), bluegreen.CodeNotFound},
		{"ELB not found", api("TargetGroupNotFound", smithy.FaultClient), bluegreen.CodeNotFound},
		{"server fault", api("SomethingNew", smithy.FaultServer), bluegreen.CodeTransient},
		{"unknown client error", api("SomethingNew", smithy.FaultClient), bluegreen.CodeUnknown},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, bluegreen.CodeTransient},
	}
	for _, tt := range tests {
		if got := Classify(tt.err, service); got != tt.want {
			t.Errorf("%s: Classify(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
