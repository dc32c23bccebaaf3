package promonitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// maxBody bounds the response body the monitor reads.
const maxBody = 8 << 20

// Sample is one value of a query's answer: a vector's sample with its
// labels, or a scalar (no labels).
type Sample struct {
	// Labels are the series' labels; nil for a scalar.
	Labels map[string]string
	// Value is the sample's value; NaN and ±Inf are possible.
	Value float64
}

// String prints the sample as Prometheus shows it: {a="b"} => 0.5.
func (s Sample) String() string {
	if s.Labels == nil {
		return "scalar " + formatValue(s.Value)
	}
	names := make([]string, 0, len(s.Labels))
	for n := range s.Labels {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(s.Labels[n]))
	}
	b.WriteString("} => ")
	b.WriteString(formatValue(s.Value))
	return b.String()
}

func formatValue(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// QueryError is a query Prometheus refused or could not answer: its
// status: error response (ErrorType and Error as Prometheus sent them), or
// an HTTP answer that is not the API's JSON.
type QueryError struct {
	// Query is the query as sent, after its template ran.
	Query string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// ErrorType is Prometheus's errorType, such as "bad_data" (a query
	// that does not parse), "execution", "timeout" or "unavailable";
	// empty if the answer was not the API's JSON.
	ErrorType string
	// Message is Prometheus's error, or what was wrong with the answer.
	Message string
}

// Error names the query and says what Prometheus answered.
func (e *QueryError) Error() string {
	if e.ErrorType != "" {
		return fmt.Sprintf("promonitor: query %q: Prometheus answered %d %s: %s", e.Query, e.StatusCode, e.ErrorType, e.Message)
	}
	return fmt.Sprintf("promonitor: query %q: HTTP %d: %s", e.Query, e.StatusCode, e.Message)
}

// Code classifies the error: a query that does not parse or cannot be
// executed is CodeInvalid (asking again will not help), a timeout
// CodeTimeout, an overloaded or unavailable server CodeTransient or
// CodeThrottled, a refused credential CodePermission.
func (e *QueryError) Code() bluegreen.Code {
	switch e.ErrorType {
	case "bad_data", "execution", "not_found":
		return bluegreen.CodeInvalid
	case "timeout":
		return bluegreen.CodeTimeout
	case "canceled":
		return bluegreen.CodeCanceled
	case "unavailable", "internal":
		return bluegreen.CodeTransient
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return bluegreen.CodePermission
	case e.StatusCode == http.StatusTooManyRequests:
		return bluegreen.CodeThrottled
	case e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusGatewayTimeout:
		return bluegreen.CodeTimeout
	case e.StatusCode >= 500:
		return bluegreen.CodeTransient
	case e.StatusCode == http.StatusNotFound:
		return bluegreen.CodeNotFound
	case e.StatusCode >= 400:
		return bluegreen.CodeInvalid
	}
	return bluegreen.CodeUnknown
}

// query runs one instant query at time at.
func (m *Monitor) query(ctx context.Context, q string, at time.Time) ([]Sample, error) {
	form := url.Values{
		"query":   {q},
		"time":    {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', -1, 64)},
		"timeout": {strconv.FormatInt(m.opts.Timeout.Milliseconds(), 10) + "ms"},
	}
	endpoint := m.opts.URL + "/api/v1/query"
	var body io.Reader
	if m.opts.Method == http.MethodGet {
		endpoint += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, m.opts.Method, endpoint, body)
	if err != nil {
		return nil, fmt.Errorf("promonitor: query %q: %w", q, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	for k, vs := range m.opts.Header {
		req.Header[k] = slices.Clone(vs)
	}
	switch {
	case m.opts.Username != "":
		req.SetBasicAuth(m.opts.Username, m.opts.Password)
	case m.opts.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+m.opts.BearerToken)
	}
	resp, err := m.opts.Client.Do(req)
	if err != nil {
		code := bluegreen.CodeTransient
		if c := bluegreen.ErrorCode(err); c == bluegreen.CodeCanceled || c == bluegreen.CodeTimeout {
			code = c
		}
		return nil, bluegreen.NewError(code, fmt.Errorf("promonitor: query %q: %w", q, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf("promonitor: query %q: read the answer: %w", q, err))
	}
	if len(b) > maxBody {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, &QueryError{Query: q, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("answer larger than %d bytes; aggregate the query", maxBody)})
	}
	samples, err := decodeResponse(b)
	if err != nil {
		var qe *QueryError
		if !errors.As(err, &qe) {
			qe = &QueryError{Message: err.Error()}
			if resp.StatusCode/100 != 2 {
				qe.Message = fmt.Sprintf("not the API's JSON (%s): %s", err, snippet(b))
			}
		}
		qe.Query, qe.StatusCode = q, resp.StatusCode
		return nil, bluegreen.NewError(qe.Code(), qe)
	}
	if resp.StatusCode/100 != 2 {
		qe := &QueryError{Query: q, StatusCode: resp.StatusCode, Message: "status success with HTTP " + resp.Status}
		return nil, bluegreen.NewError(qe.Code(), qe)
	}
	return samples, nil
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = b[:200]
	}
	return strconv.Quote(string(b))
}

// response is the envelope of every answer of the HTTP API.
type response struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// queryData is the data of an instant query.
type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// vectorSample is one element of a vector result. Histogram is set instead
// of Value for a native histogram sample.
type vectorSample struct {
	Metric    map[string]string `json:"metric"`
	Value     *samplePair       `json:"value"`
	Histogram json.RawMessage   `json:"histogram"`
}

// samplePair is [<unix time>, "<value>"].
type samplePair struct {
	Value float64
}

func (p *samplePair) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("sample is not [time, value]: %w", err)
	}
	if len(raw) != 2 {
		return fmt.Errorf("sample has %d elements, want [time, value]", len(raw))
	}
	var t float64
	if err := json.Unmarshal(raw[0], &t); err != nil {
		return fmt.Errorf("sample time: %w", err)
	}
	var s string
	if err := json.Unmarshal(raw[1], &s); err != nil {
		return fmt.Errorf("sample value is not a string: %w", err)
	}
	v, err := parseValue(s)
	if err != nil {
		return err
	}
	p.Value = v
	return nil
}

// parseValue parses a sample value as Prometheus writes it: a Go float,
// "NaN", "+Inf" or "-Inf".
func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, nil // ±Inf or ±0 for out-of-range numbers, as Prometheus would read them
		}
		return 0, fmt.Errorf("sample value %q is not a number", s)
	}
	return v, nil
}

// decodeResponse decodes an answer of /api/v1/query into its samples: the
// samples of a vector, or one scalar. An error answer is a *QueryError
// (without Query and StatusCode, which the caller knows).
func decodeResponse(b []byte) ([]Sample, error) {
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	switch r.Status {
	case "success":
	case "error":
		return nil, &QueryError{ErrorType: orDefault(r.ErrorType, "unknown"), Message: r.Error}
	default:
		return nil, fmt.Errorf("status %q, want success or error", r.Status)
	}
	var d queryData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	switch d.ResultType {
	case "vector":
		var vs []vectorSample
		if err := json.Unmarshal(d.Result, &vs); err != nil {
			return nil, fmt.Errorf("vector result: %w", err)
		}
		out := make([]Sample, 0, len(vs))
		for i, v := range vs {
			switch {
			case v.Value == nil && v.Histogram != nil:
				return nil, &QueryError{ErrorType: "bad_data", Message: fmt.Sprintf("sample %d is a native histogram; query a float, such as with histogram_quantile", i)}
			case v.Value == nil:
				return nil, fmt.Errorf("vector sample %d has no value", i)
			}
			labels := v.Metric
			if labels == nil {
				labels = map[string]string{}
			}
			out = append(out, Sample{Labels: labels, Value: v.Value.Value})
		}
		return out, nil
	case "scalar":
		var p samplePair
		if err := json.Unmarshal(d.Result, &p); err != nil {
			return nil, fmt.Errorf("scalar result: %w", err)
		}
		return []Sample{{Value: p.Value}}, nil
	case "matrix", "string":
		return nil, &QueryError{ErrorType: "bad_data", Message: fmt.Sprintf("the query answers a %s; write an instant query that answers a vector or a scalar", d.ResultType)}
	}
	return nil, fmt.Errorf("unknown resultType %q", d.ResultType)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
