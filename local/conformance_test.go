//go:build unix

package local

import (
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

func TestComputeConformance(t *testing.T) {
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		c := newCompute(t, Options{})
		return bluegreentest.ComputeHarness{
			Compute: c,
			Service: "web",
			Revision: func() bluegreen.Revision {
				return revision(t, "web:1", appSpec(nil))
			},
			// The app told to exit at once, with status 1.
			FailingRevision: func() bluegreen.Revision {
				return revision(t, "web:bad", appSpec(map[string]string{"CRASH_AFTER": "0s"}))
			},
			HealthTimeout: 20 * time.Second,
			PollInterval:  20 * time.Millisecond,
		}
	})
}
