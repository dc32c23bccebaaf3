package awsfake

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

func TestUpdateExpressions(t *testing.T) {
	old := Item{"k": S("a"), "n": N("1"), "l": L(N("1")), "m": M(Item{"x": S("y")}), "s": SS("a", "b"), "gone": Bool(true)}
	values := map[string]AttributeValue{":one": N("1"), ":half": N("0.5"), ":l": L(N("2")), ":z": S("z"), ":sb": SS("b", "c")}
	tests := []struct {
		expr string
		want Item
	}{
		{"SET n = n + :one", Item{"n": N("2")}},
		{"SET n = n - :half", Item{"n": N("0.5")}},
		{"SET fresh = if_not_exists(fresh, :one), n = if_not_exists(n, :half)", Item{"fresh": N("1"), "n": N("1")}},
		{"SET l = list_append(l, :l)", Item{"l": L(N("1"), N("2"))}},
		{"SET m.x = :z", Item{"m": M(Item{"x": S("z")})}},
		{"REMOVE gone", Item{"gone": {}}},
		{"ADD n :one, s :sb", Item{"n": N("2"), "s": SS("a", "b", "c")}},
		{"DELETE s :sb", Item{"s": SS("a")}},
		{"set n = :one remove gone", Item{"n": N("1"), "gone": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			actions, err := parseUpdate(tt.expr, newExprEnv(nil, values))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := applyUpdate(old, actions)
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			want := cloneItem(old)
			for k, v := range tt.want {
				if v.Type() == "" {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(equalValues)); diff != "" {
				t.Errorf("item (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := parseUpdate("SET a = :one SET b = :one", newExprEnv(nil, values)); err == nil {
		t.Error("two SET sections parsed without error")
	}
	if _, err := parseUpdate("SET a = :one, a = :one", newExprEnv(nil, values)); err == nil {
		t.Error("overlapping paths parsed without error")
	}
}
