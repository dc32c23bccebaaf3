package bluegreen_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// Minimal backends for benchmarks: they do no recording, so the figures are
// the Deployer's own cost.
type benchCompute struct{}

func (benchCompute) ScaleUp(context.Context, bluegreen.Environment) error   { return nil }
func (benchCompute) ScaleDown(context.Context, bluegreen.Environment) error { return nil }
func (benchCompute) Status(context.Context, bluegreen.Environment) (bluegreen.Status, error) {
	return bluegreen.Status{Desired: 2, Running: 2, Healthy: 2}, nil
}

type benchRouter struct{ m sync.Map }

func (r *benchRouter) SetRoutes(_ context.Context, service string, rt bluegreen.Routes) error {
	r.m.Store(service, rt)
	return nil
}

func (r *benchRouter) Routes(_ context.Context, service string) (bluegreen.Routes, error) {
	v, _ := r.m.Load(service)
	rt, _ := v.(bluegreen.Routes)
	return rt, nil
}

func (r *benchRouter) Verify(ctx context.Context, service string, want bluegreen.Routes) (bool, error) {
	got, _ := r.Routes(ctx, service)
	return got == want, nil
}

// BenchmarkDeploy runs one full deployment (linear, 4 steps, no waits) over
// a live blue, per iteration.
func BenchmarkDeploy(b *testing.B) {
	d, err := bluegreen.New(bluegreen.Config{
		Compute: benchCompute{}, Router: &benchRouter{}, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(25, 0),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.Deploy(ctx, "web", bluegreen.Revision{Name: "web:0"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Deploy(ctx, "web", bluegreen.Revision{Name: "web"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/deploy")
}

// BenchmarkConcurrentDeployments starts 10,000 deployments of distinct
// services at once in one process, holds them all in flight (paused at
// POST_TEST_TRAFFIC_SHIFT, green running, test traffic on it), measures the
// heap they hold, then lets them all finish. It runs over minimal backends
// (the Deployer's own cost) and over the bluegreentest fakes users run
// their tests with (which record every call), in one run.
func BenchmarkConcurrentDeployments(b *testing.B) {
	backends := []struct {
		name    string
		backend func() (bluegreen.Compute, bluegreen.Router, bluegreen.Store)
	}{
		{"minimal", func() (bluegreen.Compute, bluegreen.Router, bluegreen.Store) {
			return benchCompute{}, &benchRouter{}, bluegreen.NewMemoryStore()
		}},
		{"fakes", func() (bluegreen.Compute, bluegreen.Router, bluegreen.Store) {
			return bluegreentest.NewCompute(bluegreentest.ComputeOptions{}), bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
				bluegreentest.NewStore(nil)
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { benchConcurrent(b, be.backend) })
	}
}

func benchConcurrent(b *testing.B, backend func() (bluegreen.Compute, bluegreen.Router, bluegreen.Store)) {
	const n = 10_000
	for b.Loop() {
		compute, router, store := backend()
		// The deployments report their pause through a callback: watching
		// 10,000 event logs from as many goroutines would measure the
		// watchers' wake-ups, not the deployments.
		var paused sync.WaitGroup
		paused.Add(n)
		d, err := bluegreen.New(bluegreen.Config{
			Compute: compute, Router: router, Store: store,
			Shift: bluegreen.Linear(25, 0),
			Hooks: []bluegreen.LifecycleHook{{Name: "hold", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
			Callbacks: bluegreen.Callbacks{OnHook: func(ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventPaused {
					paused.Done()
				}
			}},
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		before := heapInUse()
		cpu0, wall0 := cpuTime(), time.Now()
		deps := make([]*bluegreen.Deployment, n)
		for i := range deps {
			dep, err := d.Start(ctx, fmt.Sprintf("svc-%05d", i), bluegreen.Revision{Name: "v1"})
			if err != nil {
				b.Fatal(err)
			}
			deps[i] = dep
		}
		paused.Wait()
		inFlight := heapInUse() - before
		for _, dep := range deps {
			if err := dep.Continue(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for _, dep := range deps {
			if _, err := dep.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(wall0).Milliseconds()), "wall-ms")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/n, "cpu-µs/deploy")
		b.ReportMetric(float64(inFlight)/n, "heap-B/inflight")
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
