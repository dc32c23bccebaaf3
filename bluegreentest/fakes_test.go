package bluegreentest_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

func TestRouterRefusesInvalidRoutesUnchanged(t *testing.T) {
	ctx := context.Background()
	r := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
	good := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}
	_ = r.SetRoutes(ctx, "web", good)
	bad := bluegreen.Routes{Production: bluegreen.Weights{A: 10, B: 10}}
	err := r.SetRoutes(ctx, "web", bad)
	var ce *bluegreen.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Weights" {
		t.Errorf("SetRoutes(%v) = %v, want Routes.Validate's *bluegreen.ConfigError", bad, err)
	}
	if diff := cmp.Diff([]bluegreen.Routes{good}, r.History("web")); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	want := []bluegreentest.Call{
		{Op: "SetRoutes", Service: "web", Detail: "A=100% B=0%", Arg: good},
		{Op: "SetRoutes", Service: "web", Detail: "A=1% B=1%", Arg: bad},
	}
	if diff := cmp.Diff(want, r.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
}

func TestRouterVerifyLag(t *testing.T) {
	ctx := context.Background()
	r := bluegreentest.NewRouter(bluegreentest.RouterOptions{VerifyLag: 2})
	r1 := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 100), Test: bluegreen.SlotB}
	r2 := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}
	var got []bool
	verify := func(routes bluegreen.Routes) {
		ok, err := r.Verify(ctx, "web", routes)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	_ = r.SetRoutes(ctx, "web", r1)
	verify(r1)
	verify(r1)
	verify(r1)
	verify(r2) // not the routes in force
	_ = r.SetRoutes(ctx, "web", r2)
	verify(r2)
	verify(r2)
	verify(r2)
	if diff := cmp.Diff([]bool{false, false, true, false, false, false, true}, got); diff != "" {
		t.Errorf("Verify answers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bluegreen.Routes{r1, r2}, r.History("web")); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if r.Current("web") != r2 || r.History("api") != nil || r.Current("api") != (bluegreen.Routes{}) {
		t.Error("Current or History of a service is wrong")
	}
}

func TestHookScript(t *testing.T) {
	ctx := context.Background()
	boom := bluegreen.NewError(bluegreen.CodeTransient, errors.New("connection reset"))
	h := bluegreentest.NewHook(bluegreentest.InProgress(time.Minute, json.RawMessage(`{"n":1}`)), bluegreentest.Succeed()).
		On(bluegreen.StagePreScaleUp, bluegreentest.Error(boom), bluegreentest.Fail("no capacity"))
	type answer struct {
		Status bluegreen.HookStatus
		Delay  time.Duration
		Reason string
		Err    error
	}
	var got []answer
	for _, stage := range []bluegreen.Stage{
		bluegreen.StagePostScaleUp, bluegreen.StagePreScaleUp, bluegreen.StagePostScaleUp,
		bluegreen.StagePreScaleUp, bluegreen.StagePostScaleUp, bluegreen.StagePreScaleUp, bluegreen.StagePostTestTrafficShift,
	} {
		res, err := h.Run(ctx, bluegreen.HookInput{Service: "web", Stage: stage})
		got = append(got, answer{res.Status, res.CallbackDelay, res.Reason, err})
	}
	want := []answer{
		{Status: bluegreen.HookInProgress, Delay: time.Minute},
		{Err: boom},
		{Status: bluegreen.HookSucceeded},
		{Status: bluegreen.HookFailed, Reason: "no capacity"},
		{Status: bluegreen.HookSucceeded}, // the last answer repeats
		{Status: bluegreen.HookFailed, Reason: "no capacity"},
		{Status: bluegreen.HookInProgress, Delay: time.Minute}, // each stage has its own place in the script
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) })); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if n := len(h.Inputs()); n != len(want) {
		t.Errorf("Inputs has %d entries, want %d", n, len(want))
	}
}

func TestHookRecordsInputs(t *testing.T) {
	ctx := context.Background()
	h := bluegreentest.NewHook()
	blue := env(bluegreen.SlotA, "web:1", "d1")
	in := bluegreen.HookInput{DeploymentID: "d2", Service: "web", Stage: bluegreen.StageProductionTrafficShift, Step: 2,
		Blue: &blue, Green: env(bluegreen.SlotB, "web:2", "d2"), Attempt: 1, Rollback: true, Details: json.RawMessage(`{"a":1}`)}
	if res, err := h.Run(ctx, in); err != nil || res.Status != bluegreen.HookSucceeded {
		t.Fatalf("Run of an unscripted hook = %+v, %v; want SUCCEEDED", res, err)
	}
	in.Details[1] = 'X' // the hook keeps its own copy
	in.Blue.Slot = bluegreen.SlotB
	want := []bluegreen.HookInput{{DeploymentID: "d2", Service: "web", Stage: bluegreen.StageProductionTrafficShift, Step: 2,
		Blue:  &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:1"}, DeploymentID: "d1"},
		Green: env(bluegreen.SlotB, "web:2", "d2"), Attempt: 1, Rollback: true, Details: json.RawMessage(`{"a":1}`)}}
	if diff := cmp.Diff(want, h.Inputs()); diff != "" {
		t.Errorf("Inputs (-want +got):\n%s", diff)
	}
	calls := []bluegreentest.Call{{Op: "Run", Service: "web", Detail: "PRODUCTION_TRAFFIC_SHIFT step 2 attempt 1 rollback"}}
	if diff := cmp.Diff(calls, h.Calls(), ignoreArg); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
}

func TestMonitorAlarms(t *testing.T) {
	ctx := context.Background()
	m := bluegreentest.NewMonitor()
	check := func() bluegreen.Verdict {
		t.Helper()
		v, err := m.Check(ctx, bluegreen.MonitorInput{DeploymentID: "d1", Stage: bluegreen.StageBakeTime,
			Routes: bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var got []bluegreen.Verdict
	got = append(got, check())
	m.Fire("zeta", "z")
	m.Fire("alpha", "a")
	got = append(got, check())
	m.Clear("zeta")
	m.SetFunc(func(in bluegreen.MonitorInput) []bluegreen.Alarm {
		if in.Routes.Production.B == bluegreen.Full {
			return []bluegreen.Alarm{{Name: "green-latency", Reason: "p99 over 1s"}}
		}
		return nil
	})
	got = append(got, check())
	m.Clear()
	m.SetFunc(nil)
	got = append(got, check())
	m.SetInconclusive("12 of 40 requests")
	got = append(got, check())
	m.Fire("alpha", "a")
	got = append(got, check())
	want := []bluegreen.Verdict{
		bluegreen.Healthy(),
		bluegreen.Alarmed(bluegreen.Alarm{Name: "alpha", Reason: "a"}, bluegreen.Alarm{Name: "zeta", Reason: "z"}),
		bluegreen.Alarmed(bluegreen.Alarm{Name: "alpha", Reason: "a"}, bluegreen.Alarm{Name: "green-latency", Reason: "p99 over 1s"}),
		bluegreen.Healthy(),
		bluegreen.Inconclusive("12 of 40 requests"),
		bluegreen.Alarmed(bluegreen.Alarm{Name: "alpha", Reason: "a"}),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	if n := len(m.Inputs()); n != 6 || m.Inputs()[0].DeploymentID != "d1" {
		t.Errorf("Inputs = %+v, want the 6 checks' inputs", m.Inputs())
	}
	if m.Name() != "monitor" || bluegreentest.NewNamedMonitor("errors").Name() != "errors" {
		t.Errorf("names %q, %q", m.Name(), bluegreentest.NewNamedMonitor("errors").Name())
	}
}

func TestStoreCrash(t *testing.T) {
	ctx := context.Background()
	inner := bluegreen.NewMemoryStore()
	s := bluegreentest.NewStore(inner)
	if s.Inner() != inner {
		t.Error("Inner is not the wrapped store")
	}
	// An injected failure is not a save and does not count towards the crash.
	s.Inject("Save", bluegreen.NewError(bluegreen.CodeTransient, errors.New("503")), 1)
	crashed := 0
	s.CrashAfter(2, func() { crashed++ })
	rec := driver.Record{Service: "web"}
	var errs []error
	for range 4 {
		v, err := s.Save(ctx, rec)
		if err == nil {
			rec.Version = v
		}
		errs = append(errs, err)
	}
	if !errors.Is(errs[0], bluegreen.ErrTransient) || errs[1] != nil || errs[2] != nil || !errors.Is(errs[3], bluegreentest.ErrCrashed) {
		t.Errorf("Save errors = %v; want transient, nil, nil, crashed", errs)
	}
	if _, err := s.Load(ctx, "web"); !errors.Is(err, bluegreentest.ErrCrashed) || !s.Crashed() || crashed != 1 {
		t.Errorf("after the crash: Load = %v, Crashed = %v, then called %d times", err, s.Crashed(), crashed)
	}
	if got, _ := inner.Load(ctx, "web"); got.Version != 2 {
		t.Errorf("the wrapped store is at version %d, want 2: the crash must not lose saves", got.Version)
	}
	s.Recover()
	if _, err := s.Load(ctx, "web"); err != nil || s.Crashed() {
		t.Errorf("after Recover: Load = %v, Crashed = %v", err, s.Crashed())
	}
	if diff := cmp.Diff([]driver.Record{{Service: "web", Version: 1}, {Service: "web", Version: 2}}, s.Saved("web")); diff != "" {
		t.Errorf("Saved (-want +got):\n%s", diff)
	}

	s.CrashAfter(0, nil)
	if _, err := s.Save(ctx, rec); !errors.Is(err, bluegreentest.ErrCrashed) {
		t.Errorf("Save after CrashAfter(0) = %v, want ErrCrashed", err)
	}
}

func TestStoreSaveDetail(t *testing.T) {
	s := bluegreentest.NewStore(nil)
	rec := driver.Record{Service: "web", Lease: driver.Lease{Owner: "host-1"}, Unfinished: true}
	_, _ = s.Save(context.Background(), rec)
	want := []bluegreentest.Call{{Op: "Save", Service: "web", Detail: "version 0 lease host-1 unfinished"}}
	if diff := cmp.Diff(want, s.Calls(), ignoreArg); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
}

// TestFullRecordSetsEveryField keeps TestStore's round trip complete when
// bluegreen.Record gains a field: the new field must be set in FullRecord.
func TestFullRecordSetsEveryField(t *testing.T) {
	rec := bluegreentest.FullRecord("web")
	rec.Version = 1 // the one field a store sets
	for _, path := range zeroFields(reflect.ValueOf(rec), "Record") {
		t.Errorf("FullRecord leaves %s zero", path)
	}
}

// zeroFields returns the paths of the zero fields of structs reachable from v.
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			break
		}
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	case reflect.Slice:
		// The first element stands for all: the last Step's Wait is zero by design.
		if v.Len() == 0 {
			return []string{path}
		}
		return zeroFields(v.Index(0), path+"[0]")
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}
