package lambdaalias_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestComputeConformance runs bluegreentest.TestCompute over the fake
// through a real SDK client on loopback; code updates take 20 ms.
func TestComputeConformance(t *testing.T) {
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		fake := awsfake.NewLambda()
		fake.SetUpdateDelay(20 * time.Millisecond)
		fake.FailUpdates("s3://code/broken-0.zip", "InvalidZipFileException", "Could not unzip uploaded file. Please check your file, then try to upload again.")
		addFunction(t, fake, "web")
		client := lambda.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
		var n atomic.Int32
		return bluegreentest.ComputeHarness{
			Compute:         newBackend(t, client, lambdaalias.Options{DeleteVersions: true}),
			Service:         "web",
			Revision:        func() bluegreen.Revision { return s3Revision("web", int(n.Add(1))) },
			FailingRevision: func() bluegreen.Revision { return s3Revision("broken", 0) },
			HealthTimeout:   5 * time.Second,
			PollInterval:    10 * time.Millisecond,
		}
	})
}

// TestRouterConformance runs bluegreentest.TestRouter over two functions
// whose slots hold versions 1 and 2.
func TestRouterConformance(t *testing.T) {
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		fake := awsfake.NewLambda()
		client := lambda.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
		b := newBackend(t, client, lambdaalias.Options{})
		for _, fn := range []string{"web", "api"} {
			slotVersions(t, fake, b, fn)
		}
		return bluegreentest.RouterHarness{Router: b, Services: []string{"web", "api"}}
	})
}

// slotVersions publishes versions 1 and 2 of fn and puts them in slots A
// and B.
func slotVersions(t testing.TB, fake *awsfake.Lambda, b *lambdaalias.Backend, fn string) {
	t.Helper()
	addFunction(t, fake, fn)
	for i, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		v, err := fake.PublishCode(fn, "s3://code/"+fn+"-"+itoa(i+1)+".zip", "")
		if err != nil {
			t.Fatal(err)
		}
		env := bluegreen.Environment{Service: fn, Slot: slot, Revision: versionRevision(fn, v), DeploymentID: "setup-" + v}
		if err := b.ScaleUp(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrownfieldConformance runs bluegreentest.TestBrownfield over a
// function whose production and test aliases someone else made.
func TestBrownfieldConformance(t *testing.T) {
	bluegreentest.TestBrownfield(t, func(t *testing.T) bluegreentest.BrownfieldHarness {
		fake := awsfake.NewLambda()
		fake.SetUpdateDelay(20 * time.Millisecond)
		addFunction(t, fake, "web")
		client := lambda.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
		b := newBackend(t, client, lambdaalias.Options{})
		var n atomic.Int32
		return bluegreentest.BrownfieldHarness{
			Compute: b, Router: b, Service: "web",
			Live: func(ctx context.Context) (bluegreen.Environment, error) {
				v, err := fake.PublishCode("web", "s3://code/terraform.zip", "deployed by terraform")
				if err != nil {
					return bluegreen.Environment{}, err
				}
				for _, alias := range []string{"live", "live-test"} {
					if err := fake.SetAlias("web", awsfake.LambdaAlias{Name: alias, FunctionVersion: v, Description: "terraform"}); err != nil {
						return bluegreen.Environment{}, err
					}
				}
				found, err := b.Discover(ctx, "web")
				if err != nil || len(found) != 1 {
					return bluegreen.Environment{}, fmt.Errorf("Discover = %v, %v; want one environment", found, err)
				}
				return found[0].Environment, nil
			},
			Revision: func() bluegreen.Revision { return s3Revision("web", int(n.Add(1))) },
			Configure: func(c *bluegreen.Config) {
				c.HealthInterval, c.MonitorInterval, c.HealthTimeout = 10*time.Millisecond, 10*time.Millisecond, 10*time.Second
			},
			Timeout: 20 * time.Second,
		}
	})
}
