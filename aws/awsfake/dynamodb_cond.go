package awsfake

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// cond is a parsed ConditionExpression.
type cond interface {
	eval(item Item) bool
}

// operand is a value in a condition: a document path, a placeholder value or
// size(path).
type operand interface {
	get(item Item) (AttributeValue, bool)
}

type pathOperand docPath

func (o pathOperand) get(item Item) (AttributeValue, bool) { return docPath(o).resolve(item) }

type valueOperand struct{ v AttributeValue }

func (o valueOperand) get(Item) (AttributeValue, bool) { return o.v, true }

type sizeOperand docPath

func (o sizeOperand) get(item Item) (AttributeValue, bool) {
	v, ok := docPath(o).resolve(item)
	if !ok {
		return AttributeValue{}, false
	}
	var n int
	switch v.Type() {
	case "S":
		n = len(*v.S)
	case "B":
		n = len(v.B)
	case "M":
		n = len(v.M)
	case "L":
		n = len(v.L)
	case "SS":
		n = len(v.SS)
	case "NS":
		n = len(v.NS)
	default:
		return AttributeValue{}, false
	}
	return N(strconv.Itoa(n)), true
}

type andCond struct{ l, r cond }

func (c andCond) eval(it Item) bool { return c.l.eval(it) && c.r.eval(it) }

type orCond struct{ l, r cond }

func (c orCond) eval(it Item) bool { return c.l.eval(it) || c.r.eval(it) }

type notCond struct{ c cond }

func (c notCond) eval(it Item) bool { return !c.c.eval(it) }

type cmpCond struct {
	op   string
	l, r operand
}

func (c cmpCond) eval(it Item) bool {
	a, okA := c.l.get(it)
	b, okB := c.r.get(it)
	if !okA || !okB {
		// A missing attribute compares unequal to everything.
		return c.op == "<>"
	}
	switch c.op {
	case "=":
		return equalValues(a, b)
	case "<>":
		return !equalValues(a, b)
	}
	n, ok := compareValues(a, b)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	case ">=":
		return n >= 0
	}
	return false
}

type betweenCond struct{ v, lo, hi operand }

func (c betweenCond) eval(it Item) bool {
	v, ok1 := c.v.get(it)
	lo, ok2 := c.lo.get(it)
	hi, ok3 := c.hi.get(it)
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	a, okA := compareValues(v, lo)
	b, okB := compareValues(v, hi)
	return okA && okB && a >= 0 && b <= 0
}

type inCond struct {
	v    operand
	list []operand
}

func (c inCond) eval(it Item) bool {
	v, ok := c.v.get(it)
	if !ok {
		return false
	}
	for _, o := range c.list {
		if w, ok := o.get(it); ok && equalValues(v, w) {
			return true
		}
	}
	return false
}

type funcCond struct {
	name string
	path docPath
	arg  operand
}

func (c funcCond) eval(it Item) bool {
	v, exists := c.path.resolve(it)
	switch c.name {
	case "attribute_exists":
		return exists
	case "attribute_not_exists":
		return !exists
	}
	arg, ok := c.arg.get(it)
	if !exists || !ok {
		return false
	}
	switch c.name {
	case "attribute_type":
		return arg.S != nil && v.Type() == *arg.S
	case "begins_with":
		switch {
		case v.S != nil && arg.S != nil:
			return strings.HasPrefix(*v.S, *arg.S)
		case v.B != nil && arg.B != nil:
			return bytes.HasPrefix(v.B, arg.B)
		}
	case "contains":
		switch {
		case v.S != nil && arg.S != nil:
			return strings.Contains(*v.S, *arg.S)
		case v.B != nil && arg.B != nil:
			return bytes.Contains(v.B, arg.B)
		case v.SS != nil && arg.S != nil:
			return containsString(v.SS, *arg.S, func(s string) string { return s })
		case v.NS != nil && arg.N != nil:
			return containsString(v.NS, *arg.N, canonicalNumber)
		case v.L != nil:
			for _, e := range v.L {
				if equalValues(e, arg) {
					return true
				}
			}
		}
	}
	return false
}

func containsString(set []string, s string, canon func(string) string) bool {
	for _, e := range set {
		if canon(e) == canon(s) {
			return true
		}
	}
	return false
}

// parseCondition parses a ConditionExpression.
func parseCondition(expr string, env *exprEnv) (cond, error) {
	p, err := newParser(expr, env)
	if err != nil {
		return nil, err
	}
	c, err := p.orCond()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokEOF {
		return nil, p.syntaxError()
	}
	return c, nil
}

func (p *parser) orCond() (cond, error) {
	l, err := p.andCond()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.andCond()
		if err != nil {
			return nil, err
		}
		l = orCond{l, r}
	}
	return l, nil
}

func (p *parser) andCond() (cond, error) {
	l, err := p.notCond()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.notCond()
		if err != nil {
			return nil, err
		}
		l = andCond{l, r}
	}
	return l, nil
}

func (p *parser) notCond() (cond, error) {
	if p.keyword("NOT") {
		c, err := p.notCond()
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	}
	return p.primaryCond()
}

var condFuncs = map[string]int{ // name → number of arguments
	"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2,
}

func (p *parser) primaryCond() (cond, error) {
	if p.punct("(") {
		c, err := p.orCond()
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	}
	if t := p.peek(); t.kind == tokIdent && p.peekAt(1).text == "(" {
		if nargs, ok := condFuncs[strings.ToLower(t.text)]; ok {
			p.pos += 2
			return p.funcCond(strings.ToLower(t.text), nargs)
		}
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch {
	case p.keyword("BETWEEN"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, p.syntaxError()
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return betweenCond{l, lo, hi}, nil
	case p.keyword("IN"):
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var list []operand
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			list = append(list, o)
			if !p.punct(",") {
				break
			}
		}
		return inCond{l, list}, p.expect(")")
	}
	t := p.next()
	switch t.text {
	case "=", "<>", "<", "<=", ">", ">=":
		if t.kind != tokOp {
			break
		}
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return cmpCond{t.text, l, r}, nil
	}
	p.pos--
	return nil, p.syntaxError()
}

func (p *parser) funcCond(name string, nargs int) (cond, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c := funcCond{name: name, path: path}
	if nargs == 2 {
		if err := p.expect(","); err != nil {
			return nil, err
		}
		if c.arg, err = p.operand(); err != nil {
			return nil, err
		}
	}
	return c, p.expect(")")
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == tokValue:
		v, err := p.value()
		return valueOperand{v}, err
	case t.kind == tokIdent && strings.EqualFold(t.text, "size") && p.peekAt(1).text == "(":
		p.pos += 2
		d, err := p.path()
		if err != nil {
			return nil, err
		}
		return sizeOperand(d), p.expect(")")
	case t.kind == tokIdent, t.kind == tokName:
		d, err := p.path()
		return pathOperand(d), err
	}
	return nil, fmt.Errorf("Invalid ConditionExpression: %w", p.syntaxError())
}
