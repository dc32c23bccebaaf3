package awsfake

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// This file parses DynamoDB expressions: ConditionExpression,
// UpdateExpression and ProjectionExpression, with ExpressionAttributeNames
// (#n) and ExpressionAttributeValues (:v) substituted at parse time and their
// use tracked, so that undefined and unused ones are rejected as DynamoDB
// rejects them.

// exprEnv holds the placeholders of one request and records which were used.
type exprEnv struct {
	names      map[string]string
	values     map[string]AttributeValue
	usedNames  map[string]bool
	usedValues map[string]bool
}

func newExprEnv(names map[string]string, values map[string]AttributeValue) *exprEnv {
	return &exprEnv{names: names, values: values, usedNames: map[string]bool{}, usedValues: map[string]bool{}}
}

// unused returns an error naming placeholders that no expression used.
func (e *exprEnv) unused() error {
	var names, values []string
	for k := range e.names {
		if !e.usedNames[k] {
			names = append(names, k)
		}
	}
	for k := range e.values {
		if !e.usedValues[k] {
			values = append(values, k)
		}
	}
	switch {
	case len(names) > 0:
		return fmt.Errorf("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(names, ", "))
	case len(values) > 0:
		return fmt.Errorf("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(values, ", "))
	}
	return nil
}

// token kinds.
const (
	tokEOF = iota
	tokIdent
	tokName  // #name
	tokValue // :value
	tokNumber
	tokOp // = <> < <= > >= + -
	tokPunct
)

type token struct {
	kind int
	text string
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '#' || c == ':' || c == '_' || unicode.IsLetter(c):
			j := i + 1
			for j < len(s) && (s[j] == '_' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			kind := tokIdent
			if c == '#' {
				kind = tokName
			} else if c == ':' {
				kind = tokValue
			}
			if j == i+1 && kind != tokIdent {
				return nil, fmt.Errorf("Syntax error; token: %q, near: %q", s[i:j], s[i:])
			}
			toks = append(toks, token{kind, s[i:j]})
			i = j
		case unicode.IsDigit(c):
			j := i
			for j < len(s) && unicode.IsDigit(rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokNumber, s[i:j]})
			i = j
		case strings.HasPrefix(s[i:], "<>"), strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			toks = append(toks, token{tokOp, s[i : i+2]})
			i += 2
		case strings.ContainsRune("=<>+-", c):
			toks = append(toks, token{tokOp, s[i : i+1]})
			i++
		case strings.ContainsRune("(),.[]", c):
			toks = append(toks, token{tokPunct, s[i : i+1]})
			i++
		default:
			return nil, fmt.Errorf("Invalid character %q in expression", c)
		}
	}
	return append(toks, token{kind: tokEOF}), nil
}

// parser is a recursive-descent parser over the tokens of one expression.
type parser struct {
	toks []token
	pos  int
	env  *exprEnv
}

func newParser(expr string, env *exprEnv) (*parser, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks, env: env}, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

// peekAt returns the token n places ahead, or EOF.
func (p *parser) peekAt(n int) token {
	if p.pos+n >= len(p.toks) {
		return token{kind: tokEOF}
	}
	return p.toks[p.pos+n]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// keyword reports whether the next token is the keyword kw (case-insensitive) and consumes it.
func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tokIdent && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); (t.kind == tokPunct || t.kind == tokOp) && t.text == s {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(s string) error {
	if !p.punct(s) {
		return p.syntaxError()
	}
	return nil
}

func (p *parser) syntaxError() error {
	t := p.peek()
	if t.kind == tokEOF {
		return fmt.Errorf("Syntax error; token: <EOF>")
	}
	return fmt.Errorf("Syntax error; token: %q", t.text)
}

// pathElem is one element of a document path: a name or a list index.
type pathElem struct {
	name  string
	index int // used when name is ""
}

type docPath []pathElem

func (d docPath) String() string {
	var b strings.Builder
	for i, e := range d {
		switch {
		case e.name == "":
			fmt.Fprintf(&b, "[%d]", e.index)
		case i > 0:
			b.WriteString("." + e.name)
		default:
			b.WriteString(e.name)
		}
	}
	return b.String()
}

func (p *parser) pathName() (string, error) {
	t := p.next()
	switch t.kind {
	case tokIdent:
		return t.text, nil
	case tokName:
		n, ok := p.env.names[t.text]
		if !ok {
			return "", fmt.Errorf("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
		}
		p.env.usedNames[t.text] = true
		return n, nil
	}
	p.pos--
	return "", p.syntaxError()
}

func (p *parser) path() (docPath, error) {
	first, err := p.pathName()
	if err != nil {
		return nil, err
	}
	path := docPath{{name: first}}
	for {
		switch {
		case p.punct("."):
			n, err := p.pathName()
			if err != nil {
				return nil, err
			}
			path = append(path, pathElem{name: n})
		case p.punct("["):
			t := p.next()
			if t.kind != tokNumber {
				return nil, p.syntaxError()
			}
			i, err := strconv.Atoi(t.text)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			path = append(path, pathElem{index: i})
		default:
			return path, nil
		}
	}
}

func (p *parser) value() (AttributeValue, error) {
	t := p.next()
	if t.kind != tokValue {
		p.pos--
		return AttributeValue{}, p.syntaxError()
	}
	v, ok := p.env.values[t.text]
	if !ok {
		return AttributeValue{}, fmt.Errorf("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
	}
	p.env.usedValues[t.text] = true
	return v, nil
}

// resolve returns the value at path in item.
func (d docPath) resolve(item Item) (AttributeValue, bool) {
	v, ok := item[d[0].name]
	for _, e := range d[1:] {
		if !ok {
			return AttributeValue{}, false
		}
		switch {
		case e.name != "" && v.M != nil:
			v, ok = v.M[e.name]
		case e.name == "" && v.L != nil && e.index < len(v.L):
			v, ok = v.L[e.index], true
		default:
			return AttributeValue{}, false
		}
	}
	return v, ok
}

// parseProjection parses a ProjectionExpression: document paths separated by commas.
func parseProjection(expr string, env *exprEnv) ([]docPath, error) {
	p, err := newParser(expr, env)
	if err != nil {
		return nil, err
	}
	var paths []docPath
	for {
		d, err := p.path()
		if err != nil {
			return nil, err
		}
		paths = append(paths, d)
		if !p.punct(",") {
			break
		}
	}
	if p.peek().kind != tokEOF {
		return nil, p.syntaxError()
	}
	return paths, nil
}

// project keeps the top-level attributes named by paths (nested paths keep
// their whole top-level attribute, a simplification of the fake).
func project(item Item, paths []docPath) Item {
	out := Item{}
	for _, d := range paths {
		if v, ok := item[d[0].name]; ok {
			out[d[0].name] = v
		}
	}
	return out
}
