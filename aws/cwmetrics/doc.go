// Package cwmetrics is a bluegreen.Monitor over Amazon CloudWatch metrics:
// GetMetricData on green's target group, with metric math, judged against
// a threshold — such as green's HTTPCode_Target_5XX_Count * 100 /
// RequestCount above 5 (percent).
//
// Each Check reads the last three periods of Options.Metrics, with the
// target group dimension set to green's (Options.TargetGroups maps slots
// to dimension values, or Options.TargetGroup computes one), evaluates
// Options.Expression, and judges its latest datapoint: ALARM when it breaks
// Threshold; INCONCLUSIVE when there is no datapoint (no requests yet, a
// division with no requests, or CloudWatch answering PartialData without
// values) or when the SampleID metric is below MinSamples in that period;
// HEALTHY otherwise. It needs cloudwatch:GetMetricData.
//
// Errors of GetMetricData carry a bluegreen code (see Monitor.ErrorCode);
// a result with status InternalError or Forbidden is an error too.
package cwmetrics
