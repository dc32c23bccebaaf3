package bluegreentest_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreArg = cmpopts.IgnoreFields(bluegreentest.Call{}, "Arg")

func TestInject(t *testing.T) {
	ctx := context.Background()
	errA, errB := errors.New("a"), errors.New("b")
	for _, tc := range []struct {
		name   string
		inject func(r *bluegreentest.Router)
		want   []error // results of five Routes calls
	}{
		{"None", func(*bluegreentest.Router) {}, []error{nil, nil, nil, nil, nil}},
		{"Twice", func(r *bluegreentest.Router) { r.Inject("Routes", errA, 2) }, []error{errA, errA, nil, nil, nil}},
		{"Forever", func(r *bluegreentest.Router) { r.Inject("Routes", errA, 0) }, []error{errA, errA, errA, errA, errA}},
		{"InOrder", func(r *bluegreentest.Router) { r.Inject("Routes", errA, 1); r.Inject("", errB, 2) }, []error{errA, errB, errB, nil, nil}},
		{"OtherOp", func(r *bluegreentest.Router) { r.Inject("SetRoutes", errA, 0) }, []error{nil, nil, nil, nil, nil}},
		{"NilError", func(r *bluegreentest.Router) { r.Inject("Routes", nil, 0) }, []error{nil, nil, nil, nil, nil}},
		{"Cleared", func(r *bluegreentest.Router) { r.Inject("Routes", errA, 0); r.ClearFaults() }, []error{nil, nil, nil, nil, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
			tc.inject(r)
			var got []error
			for range tc.want {
				_, err := r.Routes(ctx, "web")
				got = append(got, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if n := r.Count("Routes"); n != len(tc.want) {
				t.Errorf("Count(Routes) = %d, want %d: failed calls are recorded too", n, len(tc.want))
			}
		})
	}
}

func TestReactor(t *testing.T) {
	ctx := context.Background()
	m := bluegreentest.NewMonitor()
	var seen []string
	boom := bluegreen.NewError(bluegreen.CodeThrottled, errors.New("slow down"))
	m.React(func(_ context.Context, c bluegreentest.Call) error {
		seen = append(seen, "first "+c.Detail)
		if c.Arg.(bluegreen.MonitorInput).Stage == bluegreen.StageBakeTime {
			m.Fire("late", "reactors may change the fake") // no deadlock: no lock held
		}
		return nil
	})
	m.React(func(_ context.Context, c bluegreentest.Call) error {
		seen = append(seen, "second "+c.Detail)
		if c.Arg.(bluegreen.MonitorInput).Stage == bluegreen.StageCleanUp {
			return boom
		}
		return nil
	})
	m.React(nil) // ignored
	if _, err := m.Check(ctx, bluegreen.MonitorInput{Stage: bluegreen.StageBakeTime}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Check(ctx, bluegreen.MonitorInput{Stage: bluegreen.StageCleanUp}); !errors.Is(err, bluegreen.ErrThrottled) {
		t.Errorf("Check = %v, want the reactor's error", err)
	}
	v, err := m.Check(ctx, bluegreen.MonitorInput{Stage: bluegreen.StageScaleUp})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first BAKE_TIME", "second BAKE_TIME", "first CLEAN_UP", "second CLEAN_UP", "first SCALE_UP", "second SCALE_UP"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("reactor calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bluegreen.Alarmed(bluegreen.Alarm{Name: "late", Reason: "reactors may change the fake"}), v); diff != "" {
		t.Errorf("alarms (-want +got):\n%s", diff)
	}
}

func TestCanceledCallIsRecordedAndFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := bluegreentest.NewStore(nil)
	s.Inject("Load", errors.New("not consumed by a canceled call"), 1)
	if _, err := s.Load(ctx, "web"); !errors.Is(err, context.Canceled) || bluegreen.ErrorCode(err) != bluegreen.CodeCanceled {
		t.Errorf("Load with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := s.Load(context.Background(), "web"); err == nil {
		t.Error("the injected failure was consumed by the canceled call")
	}
	want := []bluegreentest.Call{{Op: "Load", Service: "web"}, {Op: "Load", Service: "web"}}
	if diff := cmp.Diff(want, s.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRecorderConcurrentUse(t *testing.T) {
	c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	c.Inject("Status", errors.New("flaky"), 50)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 8 {
		wg.Go(func() {
			env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d", Revision: bluegreen.Revision{Name: "web:1"}}
			_ = c.ScaleUp(context.Background(), env)
			for range 25 {
				if _, err := c.Status(context.Background(), env); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if failed != 50 || c.Count("Status") != 200 || c.Count("ScaleUp") != 8 || c.Count("") != 208 {
		t.Errorf("failed=%d Status=%d ScaleUp=%d all=%d; want 50, 200, 8, 208", failed, c.Count("Status"), c.Count("ScaleUp"), c.Count(""))
	}
	if got := c.Running("web"); len(got) != 1 {
		t.Errorf("Running = %v, want one environment after 8 ScaleUps of it", got)
	}
}

func TestCallString(t *testing.T) {
	got := []string{
		bluegreentest.Call{Op: "Routes", Service: "web"}.String(),
		bluegreentest.Call{Op: "SetRoutes", Service: "web", Detail: "A=100% B=0%"}.String(),
	}
	if diff := cmp.Diff([]string{"Routes web", "SetRoutes web A=100% B=0%"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
