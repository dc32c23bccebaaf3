package awsfake

import (
	"fmt"
	"slices"
	"strings"
)

// GlobalSecondaryIndex describes a global secondary index of a fake table.
// Like DynamoDB's, the index is sparse: an item is in it only if it has
// every key attribute of the index.
type GlobalSecondaryIndex struct {
	// Name is the index name.
	Name string
	// Key is the index's partition key, then its sort key if any.
	Key []KeyAttribute
	// Projection is "ALL", "KEYS_ONLY" or "INCLUDE"; "ALL" if empty.
	Projection string
	// NonKeyAttributes are the attributes an INCLUDE projection copies.
	NonKeyAttributes []string
}

// ddbIndex is a global secondary index of a fake table.
type ddbIndex struct {
	GlobalSecondaryIndex
}

// AddGlobalSecondaryIndex adds idx to table (or replaces the index of the
// same name), as UpdateTable would once the index is ACTIVE: items already
// stored are in it at once.
func (d *DynamoDB) AddGlobalSecondaryIndex(table string, idx GlobalSecondaryIndex) error {
	if err := checkIndex(idx); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[table]
	if !ok {
		return fmt.Errorf("awsfake: no table %q", table)
	}
	idx.Key = slices.Clone(idx.Key)
	idx.NonKeyAttributes = slices.Clone(idx.NonKeyAttributes)
	t.indexes = slices.DeleteFunc(t.indexes, func(i *ddbIndex) bool { return i.Name == idx.Name })
	t.indexes = append(t.indexes, &ddbIndex{idx})
	return nil
}

// checkIndex validates an index definition as CreateTable does.
func checkIndex(idx GlobalSecondaryIndex) error {
	switch {
	case len(idx.Name) < 3 || len(idx.Name) > 255:
		return fmt.Errorf("1 validation error detected: Value '%s' at 'globalSecondaryIndexes.member.indexName' failed to satisfy constraint: Member must have length between 3 and 255", idx.Name)
	case len(idx.Key) == 0 || len(idx.Key) > 2:
		return fmt.Errorf("One or more parameter values were invalid: index %s needs a HASH key and an optional RANGE key", idx.Name)
	}
	switch idx.Projection {
	case "", "ALL", "KEYS_ONLY":
		if len(idx.NonKeyAttributes) > 0 {
			return fmt.Errorf("One or more parameter values were invalid: ProjectionType is %s, but NonKeyAttributes is specified", idx.Projection)
		}
	case "INCLUDE":
	default:
		return fmt.Errorf("1 validation error detected: Value '%s' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]", idx.Projection)
	}
	for _, k := range idx.Key {
		if k.Type != "S" && k.Type != "N" && k.Type != "B" {
			return fmt.Errorf("One or more parameter values were invalid: index %s: key %s has type %q, want S, N or B", idx.Name, k.Name, k.Type)
		}
	}
	return nil
}

// index returns the index named name.
func (t *ddbTable) index(name string) (*ddbIndex, bool) {
	i := slices.IndexFunc(t.indexes, func(i *ddbIndex) bool { return i.Name == name })
	if i < 0 {
		return nil, false
	}
	return t.indexes[i], true
}

// checkIndexKeys refuses an item whose index key attributes have the wrong
// type or an empty value, as DynamoDB refuses the write.
func (t *ddbTable) checkIndexKeys(item Item) error {
	for _, idx := range t.indexes {
		for _, k := range idx.Key {
			v, ok := item[k.Name]
			if !ok {
				continue
			}
			if v.Type() != k.Type {
				return fmt.Errorf("One or more parameter values were invalid: Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s", k.Name, k.Type, v.Type(), idx.Name)
			}
			if (v.S != nil && *v.S == "") || (v.B != nil && len(v.B) == 0) {
				return fmt.Errorf("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: %s, IndexKey: %s", idx.Name, k.Name)
			}
		}
	}
	return nil
}

// contains reports whether item is in the (sparse) index.
func (idx *ddbIndex) contains(item Item) bool {
	for _, k := range idx.Key {
		if v, ok := item[k.Name]; !ok || v.Type() != k.Type {
			return false
		}
	}
	return true
}

// project returns what the index stores of item: the table's and the
// index's key attributes, and the projected ones.
func (idx *ddbIndex) project(t *ddbTable, item Item) Item {
	if idx.Projection == "" || idx.Projection == "ALL" {
		return cloneItem(item)
	}
	names := []string{}
	for _, k := range t.key {
		names = append(names, k.Name)
	}
	for _, k := range idx.Key {
		names = append(names, k.Name)
	}
	names = append(names, idx.NonKeyAttributes...)
	out := Item{}
	for _, n := range names {
		if v, ok := item[n]; ok {
			out[n] = v
		}
	}
	return cloneItem(out)
}

// describe returns the index's entry of DescribeTable's GlobalSecondaryIndexes.
func (idx *ddbIndex) describe(t *ddbTable) map[string]any {
	var schema []ddbKeySchemaElement
	for i, k := range idx.Key {
		typ := "HASH"
		if i > 0 {
			typ = "RANGE"
		}
		schema = append(schema, ddbKeySchemaElement{k.Name, typ})
	}
	projection := map[string]any{"ProjectionType": cmpOr(idx.Projection, "ALL")}
	if len(idx.NonKeyAttributes) > 0 {
		projection["NonKeyAttributes"] = idx.NonKeyAttributes
	}
	count := 0
	for _, it := range t.items {
		if idx.contains(it) {
			count++
		}
	}
	return map[string]any{
		"IndexName":      idx.Name,
		"IndexArn":       "arn:aws:dynamodb:us-east-1:123456789012:table/" + t.name + "/index/" + idx.Name,
		"IndexStatus":    "ACTIVE",
		"KeySchema":      schema,
		"Projection":     projection,
		"ItemCount":      count,
		"IndexSizeBytes": 0,
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keyCondition is a parsed KeyConditionExpression: the partition key's value
// and an optional condition on the sort key.
type keyCondition struct {
	partition     string
	partitionVal  AttributeValue
	sort          string // "" if no sort key condition
	op            string // = < <= > >= BETWEEN begins_with
	sortVal, high AttributeValue
}

// parseKeyCondition parses `pk = :v [AND sk op :w]`, the conditions in
// either order, the sort key's as a comparison, BETWEEN or begins_with.
func parseKeyCondition(expr string, env *exprEnv) ([]keyCondPart, error) {
	p, err := newParser(expr, env)
	if err != nil {
		return nil, err
	}
	var parts []keyCondPart
	for {
		part, err := p.keyCondPart()
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
		if !p.keyword("AND") {
			break
		}
	}
	if p.peek().kind != tokEOF {
		return nil, p.syntaxError()
	}
	if len(parts) > 2 {
		return nil, fmt.Errorf("Conditions can be of length 1 or 2 only")
	}
	return parts, nil
}

// keyCondPart is one condition of a key condition.
type keyCondPart struct {
	attr      string
	op        string
	val, high AttributeValue
}

func (p *parser) keyCondPart() (keyCondPart, error) {
	if t := p.peek(); t.kind == tokIdent && strings.EqualFold(t.text, "begins_with") && p.peekAt(1).text == "(" {
		p.pos += 2
		name, err := p.pathName()
		if err != nil {
			return keyCondPart{}, err
		}
		if err := p.expect(","); err != nil {
			return keyCondPart{}, err
		}
		v, err := p.value()
		if err != nil {
			return keyCondPart{}, err
		}
		return keyCondPart{attr: name, op: "begins_with", val: v}, p.expect(")")
	}
	name, err := p.pathName()
	if err != nil {
		return keyCondPart{}, err
	}
	if p.keyword("BETWEEN") {
		lo, err := p.value()
		if err != nil {
			return keyCondPart{}, err
		}
		if !p.keyword("AND") {
			return keyCondPart{}, p.syntaxError()
		}
		hi, err := p.value()
		if err != nil {
			return keyCondPart{}, err
		}
		return keyCondPart{attr: name, op: "BETWEEN", val: lo, high: hi}, nil
	}
	t := p.next()
	if t.kind != tokOp || t.text == "<>" || t.text == "+" || t.text == "-" {
		p.pos--
		return keyCondPart{}, fmt.Errorf("Invalid operator used in KeyConditionExpression: %s", t.text)
	}
	v, err := p.value()
	if err != nil {
		return keyCondPart{}, err
	}
	return keyCondPart{attr: name, op: t.text, val: v}, nil
}

// bind checks the parts against the key schema of the table or index:
// equality on the partition key, at most one condition on the sort key.
func bindKeyCondition(parts []keyCondPart, key []KeyAttribute) (keyCondition, error) {
	var kc keyCondition
	for _, part := range parts {
		switch {
		case part.attr == key[0].Name:
			if part.op != "=" {
				return kc, fmt.Errorf("Query key condition not supported")
			}
			if kc.partition != "" {
				return kc, fmt.Errorf("KeyConditionExpressions must only contain one condition per key")
			}
			if part.val.Type() != key[0].Type {
				return kc, fmt.Errorf("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
			kc.partition, kc.partitionVal = part.attr, part.val
		case len(key) == 2 && part.attr == key[1].Name:
			if kc.sort != "" {
				return kc, fmt.Errorf("KeyConditionExpressions must only contain one condition per key")
			}
			if part.val.Type() != key[1].Type || (part.op == "BETWEEN" && part.high.Type() != key[1].Type) {
				return kc, fmt.Errorf("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
			if part.op == "begins_with" && key[1].Type == "N" {
				return kc, fmt.Errorf("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
			}
			kc.sort, kc.op, kc.sortVal, kc.high = part.attr, part.op, part.val, part.high
		default:
			return kc, fmt.Errorf("Query condition missed key schema element: %s", key[0].Name)
		}
	}
	if kc.partition == "" {
		return kc, fmt.Errorf("Query condition missed key schema element: %s", key[0].Name)
	}
	return kc, nil
}

// match reports whether item's key satisfies the condition.
func (kc keyCondition) match(item Item) bool {
	v, ok := item[kc.partition]
	if !ok || !equalValues(v, kc.partitionVal) {
		return false
	}
	if kc.sort == "" {
		return true
	}
	s, ok := item[kc.sort]
	if !ok {
		return false
	}
	c, ok := compareValues(s, kc.sortVal)
	if !ok {
		return false
	}
	switch kc.op {
	case "=":
		return c == 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "BETWEEN":
		h, ok := compareValues(s, kc.high)
		return ok && c >= 0 && h <= 0
	case "begins_with":
		if s.S != nil {
			return strings.HasPrefix(*s.S, *kc.sortVal.S)
		}
		return s.B != nil && strings.HasPrefix(string(s.B), string(kc.sortVal.B))
	}
	return false
}
