package awsfake

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Alarm states, as CloudWatch spells them.
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// CloudWatchAlarm is an alarm of the CloudWatch fake. Tests set its state
// from Go; the fake does not evaluate metrics.
type CloudWatchAlarm struct {
	// Name is the alarm name.
	Name string
	// Composite makes it a composite alarm rather than a metric alarm.
	Composite bool
	// State is AlarmOK, AlarmAlarm or AlarmInsufficientData.
	State string
	// Reason is the state reason.
	Reason string
	// Updated is the StateUpdatedTimestamp; the time of SetAlarm if zero.
	Updated time.Time
	// Transitioned is the StateTransitionedTimestamp (last change of State); Updated if zero.
	Transitioned time.Time
}

// cwService is the service name in rpc-v2-cbor request paths.
const cwService = "GraniteServiceVersion20100801"

// CloudWatch is a fake of the CloudWatch DescribeAlarms and GetMetricData
// APIs as the pinned SDK
// (v1.75.5) sends it: Smithy RPC v2 CBOR, POST
// /service/GraniteServiceVersion20100801/operation/DescribeAlarms. Errors
// carry the CBOR error shape and, because CloudWatch is query-compatible,
// the X-Amzn-Query-Error header. It is safe for concurrent use.
type CloudWatch struct {
	// Faults counts calls per operation ("DescribeAlarms", "GetMetricData") and injects faults.
	Faults Faults

	mu      sync.Mutex
	alarms  map[string]CloudWatchAlarm
	metrics cwMetrics // GetMetricData's datapoints; see cloudwatch_metrics.go
}

// NewCloudWatch returns a fake with no alarms.
func NewCloudWatch() *CloudWatch { return &CloudWatch{alarms: map[string]CloudWatchAlarm{}} }

// SetAlarm creates or replaces an alarm.
func (c *CloudWatch) SetAlarm(a CloudWatchAlarm) {
	if a.State == "" {
		a.State = AlarmInsufficientData
	}
	if a.Updated.IsZero() {
		a.Updated = time.Now()
	}
	if a.Transitioned.IsZero() {
		a.Transitioned = a.Updated
	}
	c.mu.Lock()
	c.alarms[a.Name] = a
	c.mu.Unlock()
}

// SetAlarmState changes the state of an existing alarm at time at, as the
// SetAlarmState API or a metric evaluation would: Updated becomes at, and
// Transitioned too if the state value changed.
func (c *CloudWatch) SetAlarmState(name, state, reason string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.alarms[name]
	if !ok {
		return fmt.Errorf("awsfake: no alarm %q", name)
	}
	if a.State != state {
		a.Transitioned = at
	}
	a.State, a.Reason, a.Updated = state, reason, at
	c.alarms[name] = a
	return nil
}

// Alarm returns the alarm name.
func (c *CloudWatch) Alarm(name string) (CloudWatchAlarm, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.alarms[name]
	return a, ok
}

// DeleteAlarm removes the alarm name.
func (c *CloudWatch) DeleteAlarm(name string) {
	c.mu.Lock()
	delete(c.alarms, name)
	c.mu.Unlock()
}

// ServeHTTP serves the rpc-v2-cbor operations of the fake.
func (c *CloudWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, "/service/"+cwService+"/operation/")
	if !ok || r.Method != http.MethodPost {
		cwError(w, http.StatusNotFound, "UnknownOperationException", "", "unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	if p := r.Header.Get("Smithy-Protocol"); p != "rpc-v2-cbor" {
		cwError(w, http.StatusBadRequest, "ValidationError", "ValidationError", fmt.Sprintf("smithy-protocol header is %q, want rpc-v2-cbor", p))
		return
	}
	handle := map[string]func(cbor.Map) (cbor.Map, *cwAPIError){"DescribeAlarms": c.describeAlarms, "GetMetricData": c.getMetricData}[op]
	if handle == nil {
		cwError(w, http.StatusNotFound, "UnknownOperationException", "", "operation "+op+" is not served by the fake")
		return
	}
	if f, faulted := c.Faults.Check(op); faulted {
		cwError(w, f.Status, f.Code, f.Code, f.Message)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		cwError(w, http.StatusBadRequest, "ValidationError", "ValidationError", "read body: "+err.Error())
		return
	}
	in := cbor.Map{}
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		if err != nil {
			cwError(w, http.StatusBadRequest, "SerializationException", "SerializationException", "decode CBOR: "+err.Error())
			return
		}
		m, ok := v.(cbor.Map)
		if !ok {
			cwError(w, http.StatusBadRequest, "SerializationException", "SerializationException", "request body is not a CBOR map")
			return
		}
		in = m
	}
	out, apiErr := handle(in)
	if apiErr != nil {
		cwError(w, apiErr.status, apiErr.typ, apiErr.query, apiErr.message)
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(cbor.Encode(out))
}

// cwAPIError is an error the fake answers with: the shape name (__type), the
// query-compatible code and the HTTP status.
type cwAPIError struct {
	status     int
	typ, query string
	message    string
}

func cwInvalid(format string, args ...any) *cwAPIError {
	return &cwAPIError{http.StatusBadRequest, "InvalidParameterValueException", "InvalidParameterValue", fmt.Sprintf(format, args...)}
}

func (c *CloudWatch) describeAlarms(in cbor.Map) (cbor.Map, *cwAPIError) {
	for _, unsupported := range []string{"ActionPrefix", "ChildrenOfAlarmName", "ParentsOfAlarmName"} {
		if _, ok := in[unsupported]; ok {
			return nil, cwInvalid("%s is not supported by the fake", unsupported)
		}
	}
	names, err := cwStrings(in, "AlarmNames")
	if err != nil {
		return nil, err
	}
	if len(names) > 100 {
		return nil, cwInvalid("AlarmNames has %d names; at most 100 are allowed", len(names))
	}
	prefix, err := cwString(in, "AlarmNamePrefix")
	if err != nil {
		return nil, err
	}
	if prefix != "" && len(names) > 0 {
		return nil, &cwAPIError{http.StatusBadRequest, "InvalidParameterCombinationException", "InvalidParameterCombination",
			"AlarmNamePrefix and AlarmNames cannot be specified together"}
	}
	state, err := cwString(in, "StateValue")
	if err != nil {
		return nil, err
	}
	types, err := cwStrings(in, "AlarmTypes")
	if err != nil {
		return nil, err
	}
	wantMetric, wantComposite := len(types) == 0, false
	for _, t := range types {
		switch t {
		case "MetricAlarm":
			wantMetric = true
		case "CompositeAlarm":
			wantComposite = true
		default:
			return nil, cwInvalid("AlarmTypes: unknown type %q", t)
		}
	}
	limit := int64(50)
	if v, ok := in["MaxRecords"]; ok {
		n, convErr := cbor.AsInt64(v)
		if convErr != nil || n < 1 || n > 100 {
			return nil, cwInvalid("MaxRecords must be between 1 and 100")
		}
		limit = n
	}
	after := ""
	if tok, err := cwString(in, "NextToken"); err != nil {
		return nil, err
	} else if tok != "" {
		b, decErr := base64.RawURLEncoding.DecodeString(tok)
		if decErr != nil {
			return nil, &cwAPIError{http.StatusBadRequest, "InvalidNextToken", "InvalidNextToken", "The service returned an invalid next token"}
		}
		after = string(b)
	}

	c.mu.Lock()
	var matched []CloudWatchAlarm
	for _, a := range c.alarms {
		switch {
		case a.Composite && !wantComposite, !a.Composite && !wantMetric:
		case len(names) > 0 && !slices.Contains(names, a.Name):
		case !strings.HasPrefix(a.Name, prefix):
		case state != "" && a.State != state:
		case after != "" && a.Name <= after:
		default:
			matched = append(matched, a)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(matched, func(a, b CloudWatchAlarm) int { return strings.Compare(a.Name, b.Name) })

	out := cbor.Map{}
	if int64(len(matched)) > limit {
		matched = matched[:limit]
		out["NextToken"] = cbor.String(base64.RawURLEncoding.EncodeToString([]byte(matched[len(matched)-1].Name)))
	}
	metric, composite := cbor.List{}, cbor.List{}
	for _, a := range matched {
		m := cbor.Map{
			"AlarmName":                  cbor.String(a.Name),
			"AlarmArn":                   cbor.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + a.Name),
			"StateValue":                 cbor.String(a.State),
			"StateReason":                cbor.String(a.Reason),
			"StateUpdatedTimestamp":      cwTime(a.Updated),
			"StateTransitionedTimestamp": cwTime(a.Transitioned),
			"ActionsEnabled":             cbor.Bool(true),
		}
		if a.Composite {
			m["AlarmRule"] = cbor.String("TRUE")
			composite = append(composite, m)
		} else {
			metric = append(metric, m)
		}
	}
	if wantMetric {
		out["MetricAlarms"] = metric
	}
	if wantComposite {
		out["CompositeAlarms"] = composite
	}
	return out, nil
}

// cwTime encodes a timestamp as rpc-v2-cbor does: tag 1 (epoch) around
// fractional seconds.
func cwTime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1000)}
}

func cwString(in cbor.Map, key string) (string, *cwAPIError) {
	v, ok := in[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(cbor.String)
	if !ok {
		return "", cwInvalid("%s must be a string", key)
	}
	return string(s), nil
}

func cwStrings(in cbor.Map, key string) ([]string, *cwAPIError) {
	v, ok := in[key]
	if !ok {
		return nil, nil
	}
	l, ok := v.(cbor.List)
	if !ok {
		return nil, cwInvalid("%s must be a list", key)
	}
	out := make([]string, 0, len(l))
	for _, item := range l {
		s, ok := item.(cbor.String)
		if !ok {
			return nil, cwInvalid("%s must hold strings", key)
		}
		out = append(out, string(s))
	}
	return out, nil
}

// cwError writes an rpc-v2-cbor error: a CBOR map with __type and message,
// plus the query-compatible X-Amzn-Query-Error header ("Code;Sender").
func cwError(w http.ResponseWriter, status int, typ, queryCode, message string) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if queryCode != "" {
		fault := "Sender"
		if status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", queryCode+";"+fault)
	}
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(cbor.Map{
		"__type":  cbor.String("com.amazonaws.cloudwatch#" + typ),
		"message": cbor.String(message),
	}))
}
