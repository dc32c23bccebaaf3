package awsfake

import (
	"strings"
	"testing"
)

func TestConditionExpressions(t *testing.T) {
	item := Item{
		"service": S("web"),
		"version": N("7"),
		"owner":   S("host-1"),
		"expires": N("1700000000000"),
		"bin":     B([]byte{1, 2, 3}),
		"flag":    Bool(true),
		"nothing": Null(),
		"doc":     M(Item{"inner": M(Item{"n": N("2.50")}), "list": L(S("a"), N("1"))}),
		"tags":    SS("blue", "green"),
		"nums":    NS("1", "2"),
	}
	values := map[string]AttributeValue{
		":v7": N("7.0"), ":v8": N("8"), ":web": S("web"), ":we": S("we"), ":host": S("host-2"),
		":now": N("1699999999999"), ":n25": N("2.5"), ":a": S("a"), ":blue": S("blue"), ":S": S("S"),
		":M": S("M"), ":b12": B([]byte{1, 2}), ":two": N("2"), ":three": N("3"), ":z": S("z"),
	}
	names := map[string]string{"#k": "service", "#v": "version", "#o": "owner", "#e": "expires", "#size": "size"}
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute_not_exists(#k)", false},
		{"attribute_exists(#k)", true},
		{"attribute_not_exists(missing)", true},
		{"#v = :v7", true}, // numbers compare by value
		{"#v <> :v7", false},
		{"#v < :v8", true},
		{"#v <= :v7", true},
		{"#v > :v8", false},
		{"#v >= :v8", false},
		{"#k = :web", true},
		{"#k > :we", true}, // strings compare bytewise
		{"#k < :we", false},
		{"#k = :v7", false},      // mismatched types are unequal
		{"#k < :v8", false},      // and unordered
		{"missing <> :v7", true}, // a missing attribute is unequal to everything
		{"missing = :v7", false},
		{"#v = :v8 OR #k = :web", true},
		{"#v = :v8 AND #k = :web", false},
		{"#v = :v8 AND #k = :web OR flag = flag", true}, // AND binds tighter than OR
		{"#v = :v8 AND (#k = :web OR flag = flag)", false},
		{"NOT #v = :v8", true},
		{"not (#v = :v7 and #k = :web)", false}, // keywords are case-insensitive
		{"attribute_not_exists(#k) OR #v = :v7", true},
		{"attribute_not_exists(#o) OR #o = :host OR #e < :now", false}, // a lease held by someone else, not expired
		{"#v BETWEEN :v7 AND :v8", true},
		{"#v BETWEEN :v8 AND :v8", false},
		{"#k IN (:we, :web)", true},
		{"#k IN (:we)", false},
		{"begins_with(#k, :we)", true},
		{"begins_with(bin, :b12)", true},
		{"contains(tags, :blue)", true},
		{"contains(doc.list, :a)", true},
		{"contains(#k, :z)", false},
		{"attribute_type(#k, :S)", true},
		{"attribute_type(doc, :M)", true},
		{"doc.inner.n = :n25", true},
		{"doc.list[1] = :v7", false},
		{"size(tags) = :two", true},
		{"size(#k) = :three", true},
		{"size(nums) > :three", false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			env := newExprEnv(names, values)
			c, err := parseCondition(tt.expr, env)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := c.eval(item); got != tt.want {
				t.Errorf("eval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionExpressionErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "Syntax error"},
		{"#v = ", "Syntax error"},
		{"#v = :missing", "not defined"},
		{"#missing = :v", "not defined"},
		{"(#v = :v", "Syntax error"},
		{"#v = :v extra", "Syntax error"},
		{"#v ! :v", "Invalid character"},
		{"attribute_exists(:v)", "Syntax error"},
		{"#v BETWEEN :v", "Syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			env := newExprEnv(map[string]string{"#v": "version"}, map[string]AttributeValue{":v": N("1")})
			_, err := parseCondition(tt.expr, env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
