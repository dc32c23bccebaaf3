package promonitor_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/monitors/promonitor"
	"github.com/google/go-cmp/cmp"
)

const (
	ratioTmpl  = `errors:ratio{service={{quote .Service}},slot={{quote .Slot}}}`
	countTmpl  = `requests:count{service={{quote .Service}},slot={{quote .Slot}}}`
	greenRatio = `errors:ratio{service="web",slot="B"}`
	blueRatio  = `errors:ratio{service="web",slot="A"}`
	greenCount = `requests:count{service="web",slot="B"}`
	blueCount  = `requests:count{service="web",slot="A"}`
)

var (
	blueEnv  = &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:1"}, DeploymentID: "d-0"}
	greenEnv = bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:2"}, DeploymentID: "d-1"}
	input    = bluegreen.MonitorInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StageProductionTrafficShift, Step: 1,
		Blue: blueEnv, Green: greenEnv, Routes: bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, bluegreen.Percent(10))}}
	first = bluegreen.MonitorInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StageBakeTime, Green: greenEnv,
		Routes: bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}}
)

func TestCheck(t *testing.T) {
	abs := promonitor.Options{Query: ratioTmpl, Threshold: 0.05}
	withMin := promonitor.Options{Query: ratioTmpl, Threshold: 0.05, MinSampleQuery: countTmpl, MinSamples: 40}
	vsBlue := promonitor.Options{Query: ratioTmpl, Threshold: 0.05, MinSampleQuery: countTmpl, MinSamples: 40,
		Blue: &promonitor.BlueComparison{Factor: 1.5, Margin: 0.01}}
	tests := []struct {
		name    string
		opts    promonitor.Options
		in      bluegreen.MonitorInput
		answers map[string]answer
		want    bluegreen.Verdict
		queries []string // the queries sent, in order
	}{
		{"healthy", abs, input, map[string]answer{greenRatio: vector(0.01)}, bluegreen.Healthy(), []string{greenRatio}},
		{"at the threshold", abs, input, map[string]answer{greenRatio: vector(0.05)}, bluegreen.Healthy(), []string{greenRatio}},
		{"above the threshold", abs, input, map[string]answer{greenRatio: vector(0.5)}, bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
			Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.1:8080"} => 0.5, > 0.05`}), []string{greenRatio}},
		{"one sample of three above", abs, input, map[string]answer{greenRatio: vector(0.01, 0.2, math.NaN())}, bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
			Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.2:8080"} => 0.2, > 0.05`}), []string{greenRatio}},
		{"scalar above", abs, input, map[string]answer{greenRatio: scalar(0.06)}, bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
			Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered scalar 0.06, > 0.05`}), []string{greenRatio}},
		{"+Inf is above", abs, input, map[string]answer{greenRatio: vector(math.Inf(1))}, bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
			Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.1:8080"} => +Inf, > 0.05`}), []string{greenRatio}},
		{"empty vector", abs, input, map[string]answer{greenRatio: vector()},
			bluegreen.Inconclusive(`green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered no samples`), []string{greenRatio}},
		{"NaN (0/0)", abs, input, map[string]answer{greenRatio: vector(math.NaN())},
			bluegreen.Inconclusive(`green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered NaN (no data to compute it from)`), []string{greenRatio}},
		{"less than", promonitor.Options{Query: ratioTmpl, Comparison: promonitor.LessThan, Threshold: 0.99}, input,
			map[string]answer{greenRatio: scalar(0.98)}, bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
				Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered scalar 0.98, < 0.99`}), []string{greenRatio}},
		{"not equal", promonitor.Options{Query: ratioTmpl, Comparison: promonitor.NotEqual, Threshold: 1, Name: "up"}, input,
			map[string]answer{greenRatio: vector(1, 0)}, bluegreen.Alarmed(bluegreen.Alarm{Name: "up",
				Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.2:8080"} => 0, != 1`}), []string{greenRatio}},
		{"too few samples", withMin, input, map[string]answer{greenCount: vector(12), greenRatio: vector(0.5)},
			bluegreen.Inconclusive(`green (web:2 in slot B): requests:count{service="web",slot="B"} answered 12; 40 are needed`), []string{greenCount}},
		{"no sample series", withMin, input, map[string]answer{greenCount: vector()},
			bluegreen.Inconclusive(`green (web:2 in slot B): requests:count{service="web",slot="B"} answered no samples; 40 are needed`), []string{greenCount}},
		{"enough samples, above", withMin, input, map[string]answer{greenCount: vector(40), greenRatio: vector(0.5)}, bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
			Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.1:8080"} => 0.5, > 0.05`}), []string{greenCount, greenRatio}},
		{"blue as bad: healthy", vsBlue, input,
			map[string]answer{greenCount: vector(100), greenRatio: vector(0.2), blueCount: vector(1000), blueRatio: scalar(0.15)},
			bluegreen.Healthy(), []string{greenCount, greenRatio, blueCount, blueRatio}},
		{"worse than blue × factor + margin", vsBlue, input,
			map[string]answer{greenCount: vector(100), greenRatio: vector(0.04), blueCount: vector(1000), blueRatio: vector(0.01)},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
				Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.1:8080"} => 0.04, > 0.025: blue (web:1 in slot A) 0.01 × 1.5 + 0.01`}),
			[]string{greenCount, greenRatio, blueCount, blueRatio}},
		{"first deployment: the threshold", vsBlue, first,
			map[string]answer{greenCount: vector(100), greenRatio: vector(0.04)},
			bluegreen.Healthy(), []string{greenCount, greenRatio}},
		{"quiet blue: the threshold", vsBlue, input,
			map[string]answer{greenCount: vector(100), greenRatio: vector(0.06), blueCount: vector(3)},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "prometheus",
				Reason: `green (web:2 in slot B): errors:ratio{service="web",slot="B"} answered {instance="10.0.0.1:8080"} => 0.06, > 0.05 (blue too quiet to compare: requests:count{service="web",slot="A"} answered 3; 40 are needed)`}),
			[]string{greenCount, greenRatio, blueCount}},
		{"blue NaN: the threshold", vsBlue, input,
			map[string]answer{greenCount: vector(100), greenRatio: vector(0.04), blueCount: vector(100), blueRatio: vector(math.NaN())},
			bluegreen.Healthy(), []string{greenCount, greenRatio, blueCount, blueRatio}},
		{"green too quiet: blue not asked", vsBlue, input,
			map[string]answer{greenCount: vector(1), greenRatio: vector(1)},
			bluegreen.Inconclusive(`green (web:2 in slot B): requests:count{service="web",slot="B"} answered 1; 40 are needed`), []string{greenCount}},
		{"blue's own query", promonitor.Options{Query: ratioTmpl, Threshold: 0.05,
			Blue: &promonitor.BlueComparison{Query: `baseline{rev={{quote .Revision}},green={{quote .GreenRevision}},role={{quote .Role}}}`}}, input,
			map[string]answer{greenRatio: vector(0.2), `baseline{rev="web:1",green="web:2",role="blue"}`: scalar(0.3)},
			bluegreen.Healthy(), []string{greenRatio, `baseline{rev="web:1",green="web:2",role="blue"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeProm()
			for q, a := range tt.answers {
				fake.setAnswer(q, a)
			}
			tt.opts.URL = fake.serve(t)
			m, err := promonitor.New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Check(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			var sent []string
			for _, r := range fake.seen() {
				sent = append(sent, r.query)
			}
			if diff := cmp.Diff(tt.queries, sent); diff != "" {
				t.Errorf("queries sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name     string
		opts     promonitor.Options
		user     string
		password string
		token    string
		check    func(t *testing.T, r request)
	}{
		{"POST with basic auth", promonitor.Options{Username: "deploy", Password: "s3cret", Timeout: 1500 * time.Millisecond}, "deploy", "s3cret", "",
			func(t *testing.T, r request) {
				if r.method != http.MethodPost || r.timeout != "1500ms" {
					t.Errorf("method %s, timeout %q; want POST, 1500ms", r.method, r.timeout)
				}
			}},
		{"GET with a bearer token and a tenant", promonitor.Options{Method: "get", BearerToken: "tok", Header: http.Header{"X-Scope-Orgid": {"team-a"}}}, "", "", "tok",
			func(t *testing.T, r request) {
				if r.method != http.MethodGet || r.timeout != "10000ms" || r.header.Get("X-Scope-OrgID") != "team-a" {
					t.Errorf("method %s, timeout %q, tenant %q; want GET, 10000ms, team-a", r.method, r.timeout, r.header.Get("X-Scope-OrgID"))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeProm()
			fake.user, fake.password, fake.token = tt.user, tt.password, tt.token
			fake.setAnswer(greenRatio, vector(0))
			tt.opts.URL, tt.opts.Query = fake.serve(t)+"/", ratioTmpl
			m, err := promonitor.New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now().Truncate(time.Millisecond)
			if v, err := m.Check(t.Context(), input); err != nil || v.State != bluegreen.MonitorHealthy {
				t.Fatalf("Check = %+v, %v", v, err)
			}
			seen := fake.seen()
			if len(seen) != 1 {
				t.Fatalf("%d requests, want 1", len(seen))
			}
			if at := seen[0].at; at.Before(before) || at.After(time.Now()) {
				t.Errorf("time parameter %v, want the time of the Check", at)
			}
			tt.check(t, seen[0])
		})
	}
	t.Run("wrong credentials", func(t *testing.T) {
		fake := newFakeProm()
		fake.token = "right"
		m, err := promonitor.New(promonitor.Options{URL: fake.serve(t), Query: ratioTmpl, BearerToken: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Check(t.Context(), input)
		var qe *promonitor.QueryError
		if !errors.As(err, &qe) || qe.StatusCode != 401 || !errors.Is(err, bluegreen.ErrPermission) {
			t.Errorf("Check: %v; want a QueryError, HTTP 401, ErrPermission", err)
		}
	})
}

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc // nil: the fake, answering errAnswer
		answer   answer
		query    string
		wantType string
		wantCode bluegreen.Code
		wantIn   string
	}{
		{name: "parse error", query: `rate(errors:ratio{slot={{quote .Slot}}}`, wantType: "bad_data", wantCode: bluegreen.CodeInvalid,
			wantIn: `promonitor: query "rate(errors:ratio{slot=\"B\"}": Prometheus answered 400 bad_data: invalid parameter "query": 1:1: parse error`},
		{name: "execution error", answer: answer{errorType: "execution", err: "found duplicate series for the match group"},
			wantType: "execution", wantCode: bluegreen.CodeInvalid, wantIn: "Prometheus answered 422 execution: found duplicate series for the match group"},
		{name: "timeout", answer: answer{errorType: "timeout", err: "query timed out in expression evaluation"},
			wantType: "timeout", wantCode: bluegreen.CodeTimeout, wantIn: "503 timeout"},
		{name: "a proxy's HTML", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
		}, wantCode: bluegreen.CodeTransient, wantIn: `HTTP 502: not the API's JSON`},
		{name: "matrix", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
		}, wantType: "bad_data", wantCode: bluegreen.CodeInvalid, wantIn: "the query answers a matrix"},
		{name: "unknown result type", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"table","result":[]}}`))
		}, wantCode: bluegreen.CodeUnknown, wantIn: `unknown resultType "table"`},
		{name: "bad sample", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`))
		}, wantCode: bluegreen.CodeUnknown, wantIn: `sample value "x" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			if tt.handler != nil {
				url = newServer(t, tt.handler)
			} else {
				fake := newFakeProm()
				fake.setAnswer(greenRatio, tt.answer)
				url = fake.serve(t)
			}
			q := tt.query
			if q == "" {
				q = ratioTmpl
			}
			m, err := promonitor.New(promonitor.Options{URL: url, Query: q})
			if err != nil {
				t.Fatal(err)
			}
			v, err := m.Check(t.Context(), input)
			if err == nil {
				t.Fatalf("Check = %+v, nil; want an error", v)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
			if got := bluegreen.ErrorCode(err); got != tt.wantCode || m.ErrorCode(err) != tt.wantCode {
				t.Errorf("code %v, want %v", got, tt.wantCode)
			}
			var qe *promonitor.QueryError
			if tt.wantType != "" && (!errors.As(err, &qe) || qe.ErrorType != tt.wantType) {
				t.Errorf("error %v: want a QueryError of type %s", err, tt.wantType)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		m, err := promonitor.New(promonitor.Options{URL: "http://127.0.0.1:1", Query: ratioTmpl, Client: &http.Client{Transport: failing{}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Check(t.Context(), input); !errors.Is(err, bluegreen.ErrTransient) {
			t.Errorf("Check: %v, want ErrTransient", err)
		}
	})
	t.Run("blue answers several samples", func(t *testing.T) {
		fake := newFakeProm()
		fake.setAnswer(greenRatio, vector(0.5))
		fake.setAnswer(blueRatio, vector(0.5, 0.5))
		m, err := promonitor.New(promonitor.Options{URL: fake.serve(t), Query: ratioTmpl, Blue: &promonitor.BlueComparison{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Check(t.Context(), input); !errors.Is(err, bluegreen.ErrInvalid) || !strings.Contains(err.Error(), "aggregate it") {
			t.Errorf("Check: %v, want ErrInvalid asking to aggregate", err)
		}
	})
}

type failing struct{}

func (failing) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
}

func TestNewErrors(t *testing.T) {
	ok := promonitor.Options{URL: "http://127.0.0.1:9090", Query: ratioTmpl}
	tests := []struct {
		name  string
		edit  func(o *promonitor.Options)
		field string
	}{
		{"no URL", func(o *promonitor.Options) { o.URL = "" }, "URL"},
		{"URL without scheme", func(o *promonitor.Options) { o.URL = "prometheus:9090" }, "URL"},
		{"URL with a query", func(o *promonitor.Options) { o.URL = "http://p:9090/?x=1" }, "URL"},
		{"no query", func(o *promonitor.Options) { o.Query = " " }, "Query"},
		{"template syntax", func(o *promonitor.Options) { o.Query = "up{slot={{.Slot}" }, "Query"},
		{"unknown field", func(o *promonitor.Options) { o.Query = "up{slot={{quote .Colour}}}" }, "Query"},
		{"unknown comparison", func(o *promonitor.Options) { o.Comparison = "=>" }, "Comparison"},
		{"NaN threshold", func(o *promonitor.Options) { o.Threshold = math.NaN() }, "Threshold"},
		{"min samples without a query", func(o *promonitor.Options) { o.MinSamples = 10 }, "MinSampleQuery"},
		{"negative min samples", func(o *promonitor.Options) { o.MinSampleQuery, o.MinSamples = "x", -1 }, "MinSamples"},
		{"bad min-sample template", func(o *promonitor.Options) { o.MinSampleQuery = "{{" }, "MinSampleQuery"},
		{"blue with ==", func(o *promonitor.Options) { o.Comparison, o.Blue = promonitor.Equal, &promonitor.BlueComparison{} }, "Blue"},
		{"bad blue template", func(o *promonitor.Options) { o.Blue = &promonitor.BlueComparison{Query: "{{.Nope}}"} }, "Blue.Query"},
		{"negative factor", func(o *promonitor.Options) { o.Blue = &promonitor.BlueComparison{Factor: -1} }, "Blue.Factor"},
		{"infinite margin", func(o *promonitor.Options) { o.Blue = &promonitor.BlueComparison{Margin: math.Inf(1)} }, "Blue.Margin"},
		{"two credentials", func(o *promonitor.Options) { o.Username, o.BearerToken = "u", "t" }, "BearerToken"},
		{"password alone", func(o *promonitor.Options) { o.Password = "p" }, "Username"},
		{"negative timeout", func(o *promonitor.Options) { o.Timeout = -time.Second }, "Timeout"},
		{"PUT", func(o *promonitor.Options) { o.Method = "PUT" }, "Method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			_, err := promonitor.New(o)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != "promonitor.Options."+tt.field || !errors.Is(err, bluegreen.ErrInvalid) {
				t.Fatalf("New: %v; want a ConfigError for promonitor.Options.%s", err, tt.field)
			}
			if ce.Fix == "" {
				t.Errorf("%v: no fix suggested", err)
			}
		})
	}
	t.Run("the query is named", func(t *testing.T) {
		_, err := promonitor.New(promonitor.Options{URL: "http://p", Query: `sum(up{slot="{{.Slot"})`})
		if err == nil || !strings.Contains(err.Error(), `"sum(up{slot=\"{{.Slot\"})"`) {
			t.Errorf("New: %v; want the query named", err)
		}
	})
	t.Run("options not shared", func(t *testing.T) {
		b := &promonitor.BlueComparison{}
		if _, err := promonitor.New(promonitor.Options{URL: "http://p", Query: "up", Blue: b}); err != nil {
			t.Fatal(err)
		}
		if b.Factor != 0 {
			t.Errorf("New changed the caller's BlueComparison: %+v", b)
		}
	})
}

func TestEvidence(t *testing.T) {
	for _, tt := range []struct {
		opts promonitor.Options
		want string
	}{
		{promonitor.Options{URL: "http://p", Query: "up"}, "a sample of up for green"},
		{promonitor.Options{URL: "http://p", Query: "up", MinSampleQuery: countTmpl, MinSamples: 40}, countTmpl + " at least 40 for green"},
	} {
		m, err := promonitor.New(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Evidence(); got != tt.want {
			t.Errorf("Evidence() = %q, want %q", got, tt.want)
		}
	}
}

// TestConformance runs bluegreentest.TestMonitor: the alarm is green's
// error ratio going above the threshold in the fake.
func TestConformance(t *testing.T) {
	bluegreentest.TestMonitor(t, func(t *testing.T) bluegreentest.MonitorHarness {
		fake := newFakeProm()
		fake.setAnswer(`errors:ratio{slot="B"}`, vector(0))
		m, err := promonitor.New(promonitor.Options{URL: fake.serve(t), Query: `errors:ratio{slot={{quote .Slot}}}`, Threshold: 0.01, Name: "green-errors"})
		if err != nil {
			t.Fatal(err)
		}
		return bluegreentest.MonitorHarness{Monitor: m, Alarm: "green-errors", PollInterval: time.Millisecond, Timeout: 10 * time.Second,
			SetAlarm: func(_ context.Context, firing bool) error {
				v := 0.0
				if firing {
					v = 0.5
				}
				fake.setAnswer(`errors:ratio{slot="B"}`, vector(v))
				return nil
			}}
	})
}
