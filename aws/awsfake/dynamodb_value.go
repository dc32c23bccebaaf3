package awsfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
)

// AttributeValue is a DynamoDB attribute value in its wire form: exactly one
// field is set (non-nil). Build one with S, N, B, Bool, Null, M, L, SS or NS.
type AttributeValue struct {
	S    *string
	N    *string // the number's decimal text
	B    []byte
	BOOL *bool
	NULL bool
	M    map[string]AttributeValue
	L    []AttributeValue
	SS   []string
	NS   []string
}

// Item is a DynamoDB item: attribute name to value.
type Item = map[string]AttributeValue

// S returns a string value.
func S(s string) AttributeValue { return AttributeValue{S: &s} }

// N returns a number value from its decimal text, such as "42" or "1.5e3".
func N(n string) AttributeValue { return AttributeValue{N: &n} }

// B returns a binary value.
func B(b []byte) AttributeValue {
	if b == nil {
		b = []byte{}
	}
	return AttributeValue{B: b}
}

// Bool returns a boolean value.
func Bool(b bool) AttributeValue { return AttributeValue{BOOL: &b} }

// Null returns the NULL value.
func Null() AttributeValue { return AttributeValue{NULL: true} }

// M returns a map value.
func M(m map[string]AttributeValue) AttributeValue {
	if m == nil {
		m = map[string]AttributeValue{}
	}
	return AttributeValue{M: m}
}

// L returns a list value.
func L(l ...AttributeValue) AttributeValue {
	if l == nil {
		l = []AttributeValue{}
	}
	return AttributeValue{L: l}
}

// SS returns a string set.
func SS(s ...string) AttributeValue { return AttributeValue{SS: s} }

// NS returns a number set.
func NS(n ...string) AttributeValue { return AttributeValue{NS: n} }

// Type returns the DynamoDB type name ("S", "N", "B", "BOOL", "NULL", "M",
// "L", "SS", "NS"), or "" for the zero value.
func (v AttributeValue) Type() string {
	switch {
	case v.S != nil:
		return "S"
	case v.N != nil:
		return "N"
	case v.B != nil:
		return "B"
	case v.BOOL != nil:
		return "BOOL"
	case v.NULL:
		return "NULL"
	case v.M != nil:
		return "M"
	case v.L != nil:
		return "L"
	case v.SS != nil:
		return "SS"
	case v.NS != nil:
		return "NS"
	}
	return ""
}

// String prints the value in its JSON wire form.
func (v AttributeValue) String() string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<invalid: " + err.Error() + ">"
	}
	return string(b)
}

// MarshalJSON encodes the wire form, such as {"S":"web"}.
func (v AttributeValue) MarshalJSON() ([]byte, error) {
	var inner any
	switch t := v.Type(); t {
	case "S":
		inner = *v.S
	case "N":
		inner = *v.N
	case "B":
		inner = v.B
	case "BOOL":
		inner = *v.BOOL
	case "NULL":
		inner = true
	case "M":
		inner = v.M
	case "L":
		inner = v.L
	case "SS":
		inner = v.SS
	case "NS":
		inner = v.NS
	default:
		return nil, fmt.Errorf("awsfake: empty AttributeValue")
	}
	return json.Marshal(map[string]any{v.Type(): inner})
}

// UnmarshalJSON decodes the wire form and checks it as DynamoDB does.
func (v *AttributeValue) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 1 {
		return fmt.Errorf("Supplied AttributeValue has %d data types set; exactly one must be set", len(raw))
	}
	*v = AttributeValue{}
	for typ, data := range raw {
		var err error
		switch typ {
		case "S":
			err = json.Unmarshal(data, &v.S)
		case "N":
			if err = json.Unmarshal(data, &v.N); err == nil && v.N != nil {
				_, err = parseNumber(*v.N)
			}
		case "B":
			err = json.Unmarshal(data, &v.B)
			if v.B == nil {
				v.B = []byte{}
			}
		case "BOOL":
			err = json.Unmarshal(data, &v.BOOL)
		case "NULL":
			var null bool
			if err = json.Unmarshal(data, &null); err == nil && !null {
				err = fmt.Errorf("NULL must be true")
			}
			v.NULL = true
		case "M":
			err = json.Unmarshal(data, &v.M)
			if v.M == nil {
				v.M = map[string]AttributeValue{}
			}
		case "L":
			err = json.Unmarshal(data, &v.L)
			if v.L == nil {
				v.L = []AttributeValue{}
			}
		case "SS":
			err = json.Unmarshal(data, &v.SS)
			if err == nil && len(v.SS) == 0 {
				err = fmt.Errorf("An string set  may not be empty")
			}
		case "NS":
			if err = json.Unmarshal(data, &v.NS); err == nil {
				if len(v.NS) == 0 {
					err = fmt.Errorf("An number set  may not be empty")
				}
				for _, n := range v.NS {
					if _, nerr := parseNumber(n); nerr != nil {
						err = nerr
					}
				}
			}
		default:
			return fmt.Errorf("unsupported attribute value type %q", typ)
		}
		if err != nil {
			return err
		}
		if v.Type() == "" {
			return fmt.Errorf("attribute value of type %s is null", typ)
		}
	}
	return nil
}

// parseNumber parses a DynamoDB number.
func parseNumber(s string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || strings.ContainsAny(s, "/") {
		return nil, fmt.Errorf("The parameter cannot be converted to a numeric value: %s", s)
	}
	return r, nil
}

// compareValues orders two values of the same scalar type (S, N or B). ok is
// false when they cannot be ordered (different or unordered types).
func compareValues(a, b AttributeValue) (c int, ok bool) {
	switch ta, tb := a.Type(), b.Type(); {
	case ta != tb:
		return 0, false
	case ta == "S":
		return strings.Compare(*a.S, *b.S), true
	case ta == "B":
		return bytes.Compare(a.B, b.B), true
	case ta == "N":
		ra, errA := parseNumber(*a.N)
		rb, errB := parseNumber(*b.N)
		if errA != nil || errB != nil {
			return 0, false
		}
		return ra.Cmp(rb), true
	}
	return 0, false
}

// equalValues reports whether two values are equal as DynamoDB compares them:
// numbers by value, sets regardless of order, documents deeply.
func equalValues(a, b AttributeValue) bool {
	ta := a.Type()
	if ta != b.Type() {
		return false
	}
	switch ta {
	case "S", "N", "B":
		c, ok := compareValues(a, b)
		return ok && c == 0
	case "BOOL":
		return *a.BOOL == *b.BOOL
	case "NULL":
		return true
	case "M":
		if len(a.M) != len(b.M) {
			return false
		}
		for k, va := range a.M {
			vb, ok := b.M[k]
			if !ok || !equalValues(va, vb) {
				return false
			}
		}
		return true
	case "L":
		return slices.EqualFunc(a.L, b.L, equalValues)
	case "SS":
		return setEqual(a.SS, b.SS, func(s string) string { return s })
	case "NS":
		return setEqual(a.NS, b.NS, canonicalNumber)
	}
	return false
}

func setEqual(a, b []string, canon func(string) string) bool {
	set := func(l []string) map[string]bool {
		m := make(map[string]bool, len(l))
		for _, s := range l {
			m[canon(s)] = true
		}
		return m
	}
	return maps.Equal(set(a), set(b))
}

// canonicalNumber returns a number's canonical text, so that "1.0" and "1"
// are the same key.
func canonicalNumber(s string) string {
	r, err := parseNumber(s)
	if err != nil {
		return s
	}
	return r.RatString()
}

// valueSize approximates the stored size of a value in bytes, for the item
// size limit.
func valueSize(v AttributeValue) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// cloneItem deep-copies an item, so that the fake never shares state with
// its callers.
func cloneItem(it Item) Item {
	if it == nil {
		return nil
	}
	b, err := json.Marshal(it)
	if err != nil {
		return nil
	}
	var out Item
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}
