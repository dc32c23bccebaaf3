package awsfake

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// updateAction is one action of an UpdateExpression. Values are read from
// the item as it was before the update, then applied to the new item.
type updateAction struct {
	verb string // SET, REMOVE, ADD, DELETE
	path docPath
	val  setOperand // SET, ADD, DELETE
}

// setOperand is the right-hand side of a SET action, or the value of ADD/DELETE.
type setOperand interface {
	get(old Item) (AttributeValue, error)
}

var errInvalidUpdatePath = errors.New("The document path provided in the update expression is invalid for update")

type setPath docPath

func (o setPath) get(old Item) (AttributeValue, error) {
	v, ok := docPath(o).resolve(old)
	if !ok {
		return AttributeValue{}, fmt.Errorf("The provided expression refers to an attribute that does not exist in the item")
	}
	return v, nil
}

type setValue struct{ v AttributeValue }

func (o setValue) get(Item) (AttributeValue, error) { return o.v, nil }

type setIfNotExists struct {
	path docPath
	def  setOperand
}

func (o setIfNotExists) get(old Item) (AttributeValue, error) {
	if v, ok := o.path.resolve(old); ok {
		return v, nil
	}
	return o.def.get(old)
}

type setListAppend struct{ a, b setOperand }

func (o setListAppend) get(old Item) (AttributeValue, error) {
	a, err := o.a.get(old)
	if err != nil {
		return AttributeValue{}, err
	}
	b, err := o.b.get(old)
	if err != nil {
		return AttributeValue{}, err
	}
	if a.L == nil || b.L == nil {
		return AttributeValue{}, fmt.Errorf("Incorrect operand type for operator or function; operator or function: list_append")
	}
	return L(append(slices.Clone(a.L), b.L...)...), nil
}

type setArith struct {
	op   string
	a, b setOperand
}

func (o setArith) get(old Item) (AttributeValue, error) {
	a, err := o.a.get(old)
	if err != nil {
		return AttributeValue{}, err
	}
	b, err := o.b.get(old)
	if err != nil {
		return AttributeValue{}, err
	}
	if a.N == nil || b.N == nil {
		return AttributeValue{}, fmt.Errorf("Incorrect operand type for operator or function; operator: %s", o.op)
	}
	return addNumbers(*a.N, *b.N, o.op == "-")
}

func addNumbers(a, b string, subtract bool) (AttributeValue, error) {
	ra, err := parseNumber(a)
	if err != nil {
		return AttributeValue{}, err
	}
	rb, err := parseNumber(b)
	if err != nil {
		return AttributeValue{}, err
	}
	if subtract {
		rb.Neg(rb)
	}
	return N(formatNumber(new(big.Rat).Add(ra, rb))), nil
}

func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return strings.TrimRight(r.FloatString(38), "0")
}

// parseUpdate parses an UpdateExpression.
func parseUpdate(expr string, env *exprEnv) ([]updateAction, error) {
	p, err := newParser(expr, env)
	if err != nil {
		return nil, err
	}
	var actions []updateAction
	seen := map[string]bool{}
	for p.peek().kind != tokEOF {
		t := p.next()
		verb := strings.ToUpper(t.text)
		if t.kind != tokIdent || !slices.Contains([]string{"SET", "REMOVE", "ADD", "DELETE"}, verb) {
			p.pos--
			return nil, p.syntaxError()
		}
		if seen[verb] {
			return nil, fmt.Errorf("The %s section can only be used once in an update expression", verb)
		}
		seen[verb] = true
		for {
			a := updateAction{verb: verb}
			if a.path, err = p.path(); err != nil {
				return nil, err
			}
			switch verb {
			case "SET":
				if err := p.expect("="); err != nil {
					return nil, err
				}
				if a.val, err = p.setExpr(); err != nil {
					return nil, err
				}
			case "ADD", "DELETE":
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				a.val = setValue{v}
			}
			actions = append(actions, a)
			if !p.punct(",") {
				break
			}
		}
	}
	if len(actions) == 0 {
		return nil, fmt.Errorf("Invalid UpdateExpression: The expression can not be empty")
	}
	for i, a := range actions {
		for _, b := range actions[i+1:] {
			if a.path[0].name == b.path[0].name && (len(a.path) == 1 || len(b.path) == 1) {
				return nil, fmt.Errorf("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", a.path, b.path)
			}
		}
	}
	return actions, nil
}

func (p *parser) setExpr() (setOperand, error) {
	a, err := p.setTerm()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokOp && (t.text == "+" || t.text == "-") {
		p.pos++
		b, err := p.setTerm()
		if err != nil {
			return nil, err
		}
		return setArith{t.text, a, b}, nil
	}
	return a, nil
}

func (p *parser) setTerm() (setOperand, error) {
	t := p.peek()
	switch {
	case t.kind == tokValue:
		v, err := p.value()
		return setValue{v}, err
	case t.kind == tokIdent && p.peekAt(1).text == "(" && strings.EqualFold(t.text, "if_not_exists"):
		p.pos += 2
		d, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		def, err := p.setTerm()
		if err != nil {
			return nil, err
		}
		return setIfNotExists{d, def}, p.expect(")")
	case t.kind == tokIdent && p.peekAt(1).text == "(" && strings.EqualFold(t.text, "list_append"):
		p.pos += 2
		a, err := p.setTerm()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		b, err := p.setTerm()
		if err != nil {
			return nil, err
		}
		return setListAppend{a, b}, p.expect(")")
	case t.kind == tokIdent, t.kind == tokName:
		d, err := p.path()
		return setPath(d), err
	}
	return nil, p.syntaxError()
}

// applyUpdate returns the item that results from applying actions to old.
func applyUpdate(old Item, actions []updateAction) (Item, error) {
	item := cloneItem(old)
	if item == nil {
		item = Item{}
	}
	for _, a := range actions {
		var v AttributeValue
		if a.val != nil {
			var err error
			if v, err = a.val.get(old); err != nil {
				return nil, err
			}
		}
		switch a.verb {
		case "SET":
			if err := putPath(item, a.path, v); err != nil {
				return nil, err
			}
		case "REMOVE":
			removePath(item, a.path)
		case "ADD", "DELETE":
			cur, exists := a.path.resolve(item)
			nv, remove, err := addOrDelete(a.verb, cur, exists, v)
			if err != nil {
				return nil, err
			}
			if remove {
				removePath(item, a.path)
			} else if err := putPath(item, a.path, nv); err != nil {
				return nil, err
			}
		}
	}
	return item, nil
}

func addOrDelete(verb string, cur AttributeValue, exists bool, v AttributeValue) (AttributeValue, bool, error) {
	wrongType := fmt.Errorf("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: %s, operand type: %s", verb, v.Type())
	switch {
	case verb == "ADD" && v.N != nil:
		if !exists {
			return v, false, nil
		}
		if cur.N == nil {
			return AttributeValue{}, false, wrongType
		}
		nv, err := addNumbers(*cur.N, *v.N, false)
		return nv, false, err
	case v.SS != nil, v.NS != nil:
		if !exists {
			if verb == "DELETE" {
				return AttributeValue{}, true, nil
			}
			return v, false, nil
		}
		if cur.Type() != v.Type() {
			return AttributeValue{}, false, wrongType
		}
		canon := func(s string) string { return s }
		set, arg := cur.SS, v.SS
		if v.NS != nil {
			canon, set, arg = canonicalNumber, cur.NS, v.NS
		}
		var out []string
		if verb == "ADD" {
			out = slices.Clone(set)
			for _, s := range arg {
				if !containsString(out, s, canon) {
					out = append(out, s)
				}
			}
		} else {
			for _, s := range set {
				if !containsString(arg, s, canon) {
					out = append(out, s)
				}
			}
		}
		if len(out) == 0 {
			return AttributeValue{}, true, nil
		}
		if v.NS != nil {
			return NS(out...), false, nil
		}
		return SS(out...), false, nil
	}
	return AttributeValue{}, false, wrongType
}

// putPath sets the value at path, whose parent must exist.
func putPath(item Item, path docPath, v AttributeValue) error {
	if len(path) == 1 {
		item[path[0].name] = v
		return nil
	}
	parent, ok := docPath(path[:len(path)-1]).resolve(item)
	if !ok {
		return errInvalidUpdatePath
	}
	last := path[len(path)-1]
	switch {
	case last.name != "" && parent.M != nil:
		parent.M[last.name] = v // maps are shared with item, so this updates it
	case last.name == "" && parent.L != nil && last.index < len(parent.L):
		parent.L[last.index] = v
	case last.name == "" && parent.L != nil:
		return putPath(item, path[:len(path)-1], L(append(parent.L, v)...))
	default:
		return errInvalidUpdatePath
	}
	return nil
}

// removePath deletes the value at path, if it is there.
func removePath(item Item, path docPath) {
	if len(path) == 1 {
		delete(item, path[0].name)
		return
	}
	parent, ok := docPath(path[:len(path)-1]).resolve(item)
	if !ok {
		return
	}
	last := path[len(path)-1]
	switch {
	case last.name != "" && parent.M != nil:
		delete(parent.M, last.name)
	case last.name == "" && parent.L != nil && last.index < len(parent.L):
		_ = putPath(item, path[:len(path)-1], L(slices.Delete(slices.Clone(parent.L), last.index, last.index+1)...))
	}
}
