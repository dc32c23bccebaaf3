package awsfake

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aws/smithy-go/encoding/cbor"
)

// MetricDatum is one raw value of a metric, as PutMetricData would store
// it. The fake aggregates them per period when GetMetricData asks.
type MetricDatum struct {
	Namespace  string
	MetricName string
	// Dimensions must match a query's exactly (same names and values).
	Dimensions map[string]string
	Timestamp  time.Time
	Value      float64
}

// cwMetrics is the fake's metric store.
type cwMetrics struct {
	data    map[string][]MetricDatum // by metricKey
	partial bool
}

func metricKey(namespace, name string, dims map[string]string) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(namespace + "\x00" + name)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + dims[k])
	}
	return b.String()
}

// PutMetricData stores raw values for GetMetricData.
func (c *CloudWatch) PutMetricData(data ...MetricDatum) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics.data == nil {
		c.metrics.data = map[string][]MetricDatum{}
	}
	for _, d := range data {
		k := metricKey(d.Namespace, d.MetricName, d.Dimensions)
		c.metrics.data[k] = append(c.metrics.data[k], d)
	}
}

// DeleteMetricData forgets every stored value.
func (c *CloudWatch) DeleteMetricData() {
	c.mu.Lock()
	c.metrics.data = nil
	c.mu.Unlock()
}

// SetMetricDataPartial makes GetMetricData answer every query with status
// PartialData and no values, as CloudWatch does while it cannot yet
// return a period's data.
func (c *CloudWatch) SetMetricDataPartial(partial bool) {
	c.mu.Lock()
	c.metrics.partial = partial
	c.mu.Unlock()
}

var metricIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// cwQuery is one MetricDataQuery of a request.
type cwQuery struct {
	id, label  string
	returnData bool
	// a metric
	namespace, name, stat string
	dims                  map[string]string
	period                int64
	// or an expression
	expr string
}

// series is a time series: values by period start.
type series map[time.Time]float64

// getMetricData serves GetMetricData: MetricStat queries aggregate the
// stored values per period with the statistics Sum, Average, Minimum,
// Maximum and SampleCount; Expression queries evaluate metric math over
// other queries' series with numbers, ids, + - * / and parentheses,
// per timestamp present in every series the expression reads (a
// non-finite result, such as a division by zero, gives no datapoint).
// Functions (SUM, METRICS, FILL...), Metrics Insights, NextToken paging,
// MaxDatapoints and LabelOptions are not supported. Results come newest
// first, as with ScanBy TimestampDescending (the default).
func (c *CloudWatch) getMetricData(in cbor.Map) (cbor.Map, *cwAPIError) {
	for _, unsupported := range []string{"NextToken", "MaxDatapoints", "LabelOptions"} {
		if _, ok := in[unsupported]; ok {
			return nil, cwInvalid("%s is not supported by the fake", unsupported)
		}
	}
	start, err1 := cbor.AsTime(in["StartTime"])
	end, err2 := cbor.AsTime(in["EndTime"])
	if in["StartTime"] == nil || in["EndTime"] == nil || err1 != nil || err2 != nil {
		return nil, cwValidation("StartTime and EndTime are required timestamps")
	}
	if !start.Before(end) {
		return nil, cwValidation("The parameter StartTime must be less than the parameter EndTime.")
	}
	ascending := false
	if s, err := cwString(in, "ScanBy"); err != nil {
		return nil, err
	} else if s == "TimestampAscending" {
		ascending = true
	} else if s != "" && s != "TimestampDescending" {
		return nil, cwValidation("ScanBy: unknown value %q", s)
	}
	list, ok := in["MetricDataQueries"].(cbor.List)
	if !ok || len(list) == 0 || len(list) > 500 {
		return nil, cwValidation("MetricDataQueries must hold 1 to 500 queries")
	}
	var queries []cwQuery
	for i, v := range list {
		q, err := parseCWQuery(i, v)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(queries, func(o cwQuery) bool { return o.id == q.id }) {
			return nil, cwValidation("The value %s for field MetricDataQueries.member.%d.Id is duplicated.", q.id, i+1)
		}
		queries = append(queries, q)
	}
	if !slices.ContainsFunc(queries, func(q cwQuery) bool { return q.returnData }) {
		return nil, cwValidation("At least one MetricDataQuery must have ReturnData set to true")
	}
	// CloudWatch rounds a recent StartTime down to the minute.
	start = start.Truncate(time.Minute)

	c.mu.Lock()
	partial := c.metrics.partial
	computed := map[string]series{}
	for _, q := range queries {
		if q.expr == "" {
			computed[q.id] = c.aggregate(q, start, end)
		}
	}
	c.mu.Unlock()
	for _, q := range queries {
		if q.expr != "" {
			s, err := evalExpression(q, computed)
			if err != nil {
				return nil, err
			}
			computed[q.id] = s
		}
	}

	results := cbor.List{}
	for _, q := range queries {
		if !q.returnData {
			continue
		}
		s := computed[q.id]
		times := make([]time.Time, 0, len(s))
		for t := range s {
			times = append(times, t)
		}
		sort.Slice(times, func(i, j int) bool { return times[i].After(times[j]) != ascending })
		ts, vs := cbor.List{}, cbor.List{}
		status := "Complete"
		if partial {
			status, times = "PartialData", nil
		}
		for _, t := range times {
			ts = append(ts, cwTime(t))
			vs = append(vs, cbor.Float64(s[t]))
		}
		label := q.label
		if label == "" {
			label = q.id
			if q.expr == "" {
				label = q.name
			}
		}
		results = append(results, cbor.Map{
			"Id": cbor.String(q.id), "Label": cbor.String(label), "StatusCode": cbor.String(status),
			"Timestamps": ts, "Values": vs,
		})
	}
	return cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}, nil
}

func cwValidation(format string, args ...any) *cwAPIError {
	return &cwAPIError{400, "InvalidParameterValueException", "InvalidParameterValue", fmt.Sprintf(format, args...)}
}

func parseCWQuery(i int, v cbor.Value) (cwQuery, *cwAPIError) {
	m, ok := v.(cbor.Map)
	if !ok {
		return cwQuery{}, cwValidation("MetricDataQueries.member.%d is not a structure", i+1)
	}
	q := cwQuery{returnData: true}
	var err *cwAPIError
	if q.id, err = cwString(m, "Id"); err != nil {
		return q, err
	}
	if !metricIDPattern.MatchString(q.id) {
		return q, cwValidation("The value %q for field MetricDataQueries.member.%d.Id must start with a lowercase letter and hold only letters, digits and underscores.", q.id, i+1)
	}
	if q.label, err = cwString(m, "Label"); err != nil {
		return q, err
	}
	if b, ok := m["ReturnData"].(cbor.Bool); ok {
		q.returnData = bool(b)
	}
	if q.expr, err = cwString(m, "Expression"); err != nil {
		return q, err
	}
	stat, hasStat := m["MetricStat"].(cbor.Map)
	if (q.expr != "") == hasStat {
		return q, cwValidation("MetricDataQueries.member.%d must set exactly one of MetricStat and Expression", i+1)
	}
	if q.expr != "" {
		if p, ok := m["Period"]; ok {
			q.period, _ = cbor.AsInt64(p)
		}
		return q, nil
	}
	metric, ok := stat["Metric"].(cbor.Map)
	if !ok {
		return q, cwValidation("MetricDataQueries.member.%d.MetricStat.Metric is required", i+1)
	}
	if q.stat, err = cwString(stat, "Stat"); err != nil {
		return q, err
	}
	if !slices.Contains([]string{"Sum", "Average", "Minimum", "Maximum", "SampleCount"}, q.stat) {
		return q, cwValidation("MetricDataQueries.member.%d.MetricStat.Stat %q is not supported by the fake", i+1, q.stat)
	}
	p, perr := cbor.AsInt64(stat["Period"])
	if perr != nil || p < 1 || (p < 60 && !slices.Contains([]int64{1, 5, 10, 20, 30}, p)) || (p >= 60 && p%60 != 0) {
		return q, cwValidation("MetricDataQueries.member.%d.MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60", i+1)
	}
	q.period = p
	if q.namespace, err = cwString(metric, "Namespace"); err != nil {
		return q, err
	}
	if q.name, err = cwString(metric, "MetricName"); err != nil {
		return q, err
	}
	q.dims = map[string]string{}
	if l, ok := metric["Dimensions"].(cbor.List); ok {
		for _, d := range l {
			dm, _ := d.(cbor.Map)
			name, _ := cwString(dm, "Name")
			value, _ := cwString(dm, "Value")
			if name == "" {
				return q, cwValidation("MetricDataQueries.member.%d: a dimension has no name", i+1)
			}
			q.dims[name] = value
		}
	}
	return q, nil
}

// aggregate computes q's statistic per period over [start, end). c.mu is held.
func (c *CloudWatch) aggregate(q cwQuery, start, end time.Time) series {
	period := time.Duration(q.period) * time.Second
	type acc struct{ sum, min, max, n float64 }
	buckets := map[time.Time]*acc{}
	for _, d := range c.metrics.data[metricKey(q.namespace, q.name, q.dims)] {
		if d.Timestamp.Before(start) || !d.Timestamp.Before(end) {
			continue
		}
		t := start.Add(d.Timestamp.Sub(start) / period * period)
		a := buckets[t]
		if a == nil {
			a = &acc{min: math.Inf(1), max: math.Inf(-1)}
			buckets[t] = a
		}
		a.sum += d.Value
		a.n++
		a.min, a.max = min(a.min, d.Value), max(a.max, d.Value)
	}
	out := series{}
	for t, a := range buckets {
		out[t] = map[string]float64{"Sum": a.sum, "Average": a.sum / a.n, "Minimum": a.min, "Maximum": a.max, "SampleCount": a.n}[q.stat]
	}
	return out
}

// evalExpression evaluates q's metric math over the series computed so far.
func evalExpression(q cwQuery, computed map[string]series) (series, *cwAPIError) {
	p := &exprParser{src: q.expr}
	n, err := p.parse()
	if err != nil {
		return nil, cwValidation("Error in expression '%s': %s", q.id, err)
	}
	var times map[time.Time]bool
	for _, id := range n.ids(nil) {
		s, ok := computed[id]
		if !ok {
			return nil, cwValidation("Error in expression '%s': Unrecognized metric or expression id %q (ids must be defined before they are used in the fake)", q.id, id)
		}
		if times == nil {
			times = map[time.Time]bool{}
			for t := range s {
				times[t] = true
			}
			continue
		}
		for t := range times {
			if _, ok := s[t]; !ok {
				delete(times, t)
			}
		}
	}
	out := series{}
	for t := range times {
		if v := n.eval(computed, t); !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[t] = v
		}
	}
	return out, nil
}

// exprNode is a node of a metric math expression.
type exprNode struct {
	op          byte // 0 for a leaf
	id          string
	num         float64
	left, right *exprNode
}

func (n *exprNode) ids(acc []string) []string {
	switch {
	case n.op != 0:
		return n.right.ids(n.left.ids(acc))
	case n.id != "":
		return append(acc, n.id)
	}
	return acc
}

func (n *exprNode) eval(s map[string]series, t time.Time) float64 {
	switch n.op {
	case 0:
		if n.id != "" {
			return s[n.id][t]
		}
		return n.num
	case '+':
		return n.left.eval(s, t) + n.right.eval(s, t)
	case '-':
		return n.left.eval(s, t) - n.right.eval(s, t)
	case '*':
		return n.left.eval(s, t) * n.right.eval(s, t)
	}
	return n.left.eval(s, t) / n.right.eval(s, t)
}

// exprParser parses expr := term (('+'|'-') term)*; term := factor
// (('*'|'/') factor)*; factor := number | id | '(' expr ')'.
type exprParser struct {
	src string
	pos int
}

func (p *exprParser) parse() (*exprNode, error) {
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.skip(); p.pos < len(p.src) {
		return nil, fmt.Errorf("unexpected %q at %d", p.src[p.pos:], p.pos)
	}
	return n, nil
}

func (p *exprParser) skip() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *exprParser) expr() (*exprNode, error) { return p.binary("+-", p.term) }
func (p *exprParser) term() (*exprNode, error) { return p.binary("*/", p.factor) }

func (p *exprParser) binary(ops string, next func() (*exprNode, error)) (*exprNode, error) {
	left, err := next()
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.pos >= len(p.src) || !strings.ContainsRune(ops, rune(p.src[p.pos])) {
			return left, nil
		}
		op := p.src[p.pos]
		p.pos++
		right, err := next()
		if err != nil {
			return nil, err
		}
		left = &exprNode{op: op, left: left, right: right}
	}
}

func (p *exprParser) factor() (*exprNode, error) {
	p.skip()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	switch ch := rune(p.src[p.pos]); {
	case ch == '(':
		p.pos++
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.skip(); p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, fmt.Errorf("missing ) at %d", p.pos)
		}
		p.pos++
		return n, nil
	case unicode.IsDigit(ch) || ch == '.':
		end := p.pos
		for end < len(p.src) && (unicode.IsDigit(rune(p.src[end])) || p.src[end] == '.') {
			end++
		}
		f, err := strconv.ParseFloat(p.src[p.pos:end], 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p.src[p.pos:end])
		}
		p.pos = end
		return &exprNode{num: f}, nil
	case ch >= 'a' && ch <= 'z':
		end := p.pos
		for end < len(p.src) && (unicode.IsLetter(rune(p.src[end])) || unicode.IsDigit(rune(p.src[end])) || p.src[end] == '_') {
			end++
		}
		id := p.src[p.pos:end]
		p.pos = end
		return &exprNode{id: id}, nil
	}
	return nil, fmt.Errorf("unexpected %q at %d (the fake supports ids, numbers, + - * / and parentheses)", p.src[p.pos:], p.pos)
}
