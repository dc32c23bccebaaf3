package promonitor

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/threshold"
)

// Comparison says how a query's value is compared with its limit: the
// monitor fires when "value Comparison limit" holds. A NaN value breaks
// no limit.
type Comparison = threshold.Comparison

// Comparisons, as PromQL spells them.
const (
	GreaterThan    = threshold.GreaterThan
	GreaterOrEqual = threshold.GreaterOrEqual
	LessThan       = threshold.LessThan
	LessOrEqual    = threshold.LessOrEqual
	Equal          = threshold.Equal
	NotEqual       = threshold.NotEqual
)

// Options configure a Monitor. URL and Query are required.
type Options struct {
	// URL is the Prometheus server's base URL, such as
	// "http://prometheus:9090" or "https://mimir.example.com/prometheus";
	// the monitor queries URL + "/api/v1/query". Required.
	URL string
	// Query is an instant PromQL query, as a text/template over Values:
	// for example
	//
	//	sum(rate(http_requests_total{service={{quote .Service}},slot={{quote .Slot}},code=~"5.."}[5m]))
	//	  / sum(rate(http_requests_total{service={{quote .Service}},slot={{quote .Slot}}}[5m]))
	//
	// It must answer a scalar or an instant vector; every sample of a
	// vector is judged. Required.
	Query string
	// Comparison and Threshold make the rule: the monitor fires when the
	// query's value Comparison Threshold holds ("> 0.01": fire above 1%).
	// Comparison is GreaterThan if empty.
	Comparison Comparison
	// Threshold is the limit; see Comparison.
	Threshold float64
	// MinSampleQuery, a template like Query, measures the evidence: while
	// its value is below MinSamples (or it answers nothing, or NaN), the
	// monitor answers INCONCLUSIVE instead of judging Query — for example
	// sum(increase(http_requests_total{slot={{quote .Slot}}}[5m])) with
	// MinSamples 40, so that one failed request out of two is not a 50%
	// error rate. A vector's smallest sample counts. Optional.
	MinSampleQuery string
	// MinSamples is the least value of MinSampleQuery that is evidence
	// enough.
	MinSamples float64
	// Blue, if set, judges green against blue at the same moment; see
	// BlueComparison. Without a blue (a service's first deployment), or
	// when blue's query has no answer, Threshold applies.
	Blue *BlueComparison
	// Name names the monitor in events and its alarm; "prometheus" if empty.
	Name string
	// Username and Password, if Username is set, authenticate with HTTP
	// basic authentication.
	Username, Password string
	// BearerToken, if set, is sent as "Authorization: Bearer <token>".
	// At most one of Username and BearerToken may be set.
	BearerToken string
	// Header holds extra request headers, such as X-Scope-OrgID for a
	// multi-tenant Mimir or Cortex.
	Header http.Header
	// Timeout bounds each Check (every query it makes), and is sent to
	// Prometheus as the query's timeout parameter; 10s if zero.
	Timeout time.Duration
	// Method is the HTTP method: POST (form-encoded, the default; long
	// queries fit) or GET (query string).
	Method string
	// Client sends the requests; a client with http.DefaultTransport if nil.
	// Its Transport may be replaced, in tests, by one that serves requests
	// in process. Its Timeout, if any, applies as well as Timeout.
	Client *http.Client
}

// BlueComparison judges green against blue: the limit becomes blue's value
// of the same measure times Factor plus Margin, so that with GreaterThan
// the monitor fires when green > blue × Factor + Margin. A shared failure
// (a dependency down for both) does not roll green back; a green worse than
// what it replaces does.
//
// Blue's value is read at the same moment as green's, with the template
// values switched to blue's slot and revision (Values.Role is "blue"). It
// must be one number: a scalar or a vector of one sample (aggregate it with
// sum or max). When it is empty or NaN, or MinSampleQuery says blue has too
// little evidence, Options.Threshold applies instead.
type BlueComparison struct {
	// Query is blue's query template; Options.Query if empty.
	Query string
	// Factor multiplies blue's value; 1 if zero.
	Factor float64
	// Margin is added to blue's value times Factor.
	Margin float64
}

// Values are what the query templates can use. Slot and Revision are those
// of the environment being judged: green's, or blue's in a
// BlueComparison's query.
type Values struct {
	// DeploymentID identifies the deployment.
	DeploymentID string
	// Service is the service being deployed.
	Service string
	// Stage is the stage the deployment is in, such as "BAKE_TIME".
	Stage string
	// Step is the production traffic step.
	Step int
	// Role is "green", or "blue" in blue's query.
	Role string
	// Slot is the judged environment's slot ("A" or "B").
	Slot string
	// Revision is the judged environment's revision name, such as "web:42".
	Revision string
	// GreenSlot and GreenRevision are green's, whatever the role.
	GreenSlot, GreenRevision string
	// BlueSlot and BlueRevision are blue's; empty on a first deployment.
	BlueSlot, BlueRevision string
}

// funcs are the template functions: quote makes a PromQL string literal.
var funcs = template.FuncMap{
	"quote": quote,
}

// quote returns s as a double-quoted PromQL string literal, which follows
// Go's escaping rules.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func configError(field, problem, fix string) error {
	return &bluegreen.ConfigError{Field: "promonitor.Options." + field, Problem: problem, Fix: fix}
}

// parseTemplate parses a query template and runs it on sample values, so
// that a misspelt field fails New rather than the first Check.
func parseTemplate(field, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, configError(field, "empty", "write an instant PromQL query")
	}
	t, err := template.New(field).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, configError(field, fmt.Sprintf("query %q does not parse: %v", text, err), "fix the template syntax")
	}
	sample := Values{DeploymentID: "d-1", Service: "web", Stage: "BAKE_TIME", Step: 1, Role: "green", Slot: "B", Revision: "web:2",
		GreenSlot: "B", GreenRevision: "web:2", BlueSlot: "A", BlueRevision: "web:1"}
	if err := t.Execute(new(strings.Builder), sample); err != nil {
		return nil, configError(field, fmt.Sprintf("query %q: %v", text, err), "use the fields of promonitor.Values and the quote function")
	}
	return t, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// validate checks o and fills in the defaults.
func (o *Options) validate() (queries, error) {
	var q queries
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return q, configError("URL", fmt.Sprintf("%q is not an http(s) URL", o.URL), `use the server's base URL, such as "http://prometheus:9090"`)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return q, configError("URL", fmt.Sprintf("%q has a query or fragment", o.URL), "give the base URL only")
	}
	if q.main, err = parseTemplate("Query", o.Query); err != nil {
		return q, err
	}
	if o.Comparison == "" {
		o.Comparison = GreaterThan
	}
	if !o.Comparison.Valid() {
		return q, configError("Comparison", fmt.Sprintf("unknown comparison %q", o.Comparison), "use >, >=, <, <=, == or !=")
	}
	if !finite(o.Threshold) {
		return q, configError("Threshold", fmt.Sprintf("%v is not a finite number", o.Threshold), "give a number")
	}
	if o.MinSampleQuery != "" {
		if q.min, err = parseTemplate("MinSampleQuery", o.MinSampleQuery); err != nil {
			return q, err
		}
	}
	if !finite(o.MinSamples) || o.MinSamples < 0 {
		return q, configError("MinSamples", fmt.Sprintf("%v is not a finite number ≥ 0", o.MinSamples), "give the least value of MinSampleQuery that is evidence enough")
	}
	if o.MinSamples > 0 && o.MinSampleQuery == "" {
		return q, configError("MinSampleQuery", "empty with MinSamples set", "write the query that counts the samples, such as sum(increase(http_requests_total[5m]))")
	}
	if o.Blue != nil {
		b := new(*o.Blue)
		o.Blue = b
		if !o.Comparison.Ordered() {
			return q, configError("Blue", fmt.Sprintf("set with Comparison %q", o.Comparison), "compare with blue using >, >=, < or <=")
		}
		text := b.Query
		field := "Blue.Query"
		if text == "" {
			text, field = o.Query, "Query"
		}
		if q.blue, err = parseTemplate(field, text); err != nil {
			return q, err
		}
		if b.Factor == 0 {
			b.Factor = 1
		}
		if !finite(b.Factor) || b.Factor < 0 {
			return q, configError("Blue.Factor", fmt.Sprintf("%v is not a finite number ≥ 0", b.Factor), "use 1 for green no worse than blue, 1.5 for half as bad again")
		}
		if !finite(b.Margin) {
			return q, configError("Blue.Margin", fmt.Sprintf("%v is not a finite number", b.Margin), "give a number, such as 0.005")
		}
	}
	if o.Username != "" && o.BearerToken != "" {
		return q, configError("BearerToken", "set with Username", "authenticate with basic authentication or a bearer token, not both")
	}
	if o.Username == "" && o.Password != "" {
		return q, configError("Username", "empty with Password set", "set the user name for basic authentication")
	}
	if o.Timeout < 0 {
		return q, configError("Timeout", fmt.Sprintf("%v is negative", o.Timeout), "use a positive duration, or zero for 10s")
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	switch o.Method = strings.ToUpper(o.Method); o.Method {
	case "":
		o.Method = http.MethodPost
	case http.MethodGet, http.MethodPost:
	default:
		return q, configError("Method", fmt.Sprintf("%q is not GET or POST", o.Method), "use GET or POST")
	}
	if o.Name == "" {
		o.Name = "prometheus"
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	o.Header = o.Header.Clone()
	o.URL = strings.TrimRight(o.URL, "/")
	return q, nil
}

// queries are the parsed templates.
type queries struct {
	main, min, blue *template.Template
}
