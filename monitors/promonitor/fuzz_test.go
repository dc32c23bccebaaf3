package promonitor

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeResponse checks decodeResponse against encoding/json's generic
// decoding: whenever the generic tree is a successful vector or scalar
// answer with well-formed samples, decodeResponse succeeds with the same
// values in the same order, and otherwise (status error, malformed
// samples) it fails. Inputs whose object keys differ from Prometheus's
// only in case are skipped: encoding/json matches struct fields without
// regard to case, a map does not, so the oracle cannot judge them.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"p"},"value":[1435781451.781,"1"]},{"metric":{},"value":[1435781451.781,"NaN"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"+Inf"]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"-0.5e-3"]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		`{"status":"error","errorType":"bad_data","error":"1:5: parse error"}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"1"}]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1","2"]}]}}`,
		`{"status":"success","warnings":["w"],"data":{"resultType":"vector","result":[{"value":[1,"0x1p-2"]}]}}`,
		`[]`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeResponse(b)
		var tree any
		if json.Unmarshal(b, &tree) != nil {
			if err == nil {
				t.Fatalf("decoded %q, which is not JSON, into %v", b, got)
			}
			return
		}
		if caseVariant(tree) {
			t.Skip("keys differing from Prometheus's only in case")
		}
		want, ok := oracle(tree)
		if !ok {
			if err == nil && !oracleUnsure(tree) {
				t.Fatalf("decoded %q into %v; the generic decoding says it is not a good answer", b, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("decode %q: %v; the generic decoding reads %v", b, err, want)
		}
		if len(got) != len(want) {
			t.Fatalf("decode %q: %d samples, generic decoding %d", b, len(got), len(want))
		}
		for i := range got {
			if !same(got[i].Value, want[i]) {
				t.Fatalf("decode %q: sample %d = %v, generic decoding %v", b, i, got[i].Value, want[i])
			}
		}
	})
}

var fields = []string{"status", "data", "errorType", "error", "resultType", "result", "metric", "value", "histogram"}

// caseVariant reports whether an object in v has a key equal to one of
// fields without regard to case, but not exactly.
func caseVariant(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			for _, f := range fields {
				if k != f && strings.EqualFold(k, f) {
					return true
				}
			}
			if caseVariant(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if caseVariant(e) {
				return true
			}
		}
	}
	return false
}

// oracle reads the sample values of a good answer out of the generic tree:
// status success, resultType vector (each element an object whose metric,
// if present and not null, maps strings to strings, and whose value is
// [number, numeric string]) or scalar.
func oracle(tree any) ([]float64, bool) {
	top, ok := tree.(map[string]any)
	if !ok || top["status"] != "success" {
		return nil, false
	}
	data, ok := top["data"].(map[string]any)
	if !ok {
		return nil, false
	}
	switch data["resultType"] {
	case "vector":
		list, ok := data["result"].([]any)
		if !ok {
			return nil, false
		}
		var out []float64
		for _, e := range list {
			s, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			if m, present := s["metric"]; present && m != nil {
				labels, ok := m.(map[string]any)
				if !ok {
					return nil, false
				}
				for _, l := range labels {
					if _, ok := l.(string); !ok && l != nil {
						return nil, false
					}
				}
			}
			v, ok := pair(s["value"])
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case "scalar":
		v, ok := pair(data["result"])
		if !ok {
			return nil, false
		}
		return []float64{v}, true
	}
	return nil, false
}

func pair(v any) (float64, bool) {
	p, ok := v.([]any)
	if !ok || len(p) != 2 {
		return 0, false
	}
	if _, ok := p[0].(float64); !ok {
		return 0, false
	}
	s, ok := p[1].(string)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRange(err) {
		return 0, false
	}
	return f, true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// oracleUnsure reports trees where encoding/json's struct decoding is more
// lenient than the oracle on purpose: null where an object, list or string
// is expected decodes as the zero value.
func oracleUnsure(tree any) bool {
	return strings.Contains(mustJSON(tree), "null")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
