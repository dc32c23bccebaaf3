package awsbudget

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WritePrometheus writes the limiter's counters in the Prometheus text
// exposition format, by bucket (an API, or a group of APIs AWS throttles
// together): calls, calls that waited for a token, throttling answers, and
// the rate in force. A platform service serves it beside
// bluegreen.Deployer.WritePrometheus.
func (l *Limiter) WritePrometheus(w io.Writer) error {
	stats := l.Stats()
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	series := func(name, help, typ string, value func(BucketStats) string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, n := range names {
			fmt.Fprintf(&b, "%s{bucket=%q} %s\n", name, n, value(stats[n]))
		}
	}
	series("bluegreen_aws_calls_total", "AWS calls that took a token, by bucket.", "counter", func(s BucketStats) string { return fmt.Sprint(s.Calls) })
	series("bluegreen_aws_calls_waited_total", "AWS calls that waited for a token.", "counter", func(s BucketStats) string { return fmt.Sprint(s.Waited) })
	series("bluegreen_aws_throttled_total", "Throttling answers from AWS.", "counter", func(s BucketStats) string { return fmt.Sprint(s.Throttled) })
	series("bluegreen_aws_rate", "Calls per second the bucket allows now (below its limit after throttling).", "gauge",
		func(s BucketStats) string { return fmt.Sprintf("%g", s.Rate) })
	_, err := io.WriteString(w, b.String())
	return err
}
