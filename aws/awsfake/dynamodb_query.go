package awsfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ddbPageBytes is DynamoDB's limit on the data one Query page reads.
const ddbPageBytes = 1 << 20

// query serves Query on a table or a global secondary index: a
// KeyConditionExpression with equality on the partition key and an optional
// sort key condition, FilterExpression, ProjectionExpression, Select, Limit,
// ScanIndexForward and ExclusiveStartKey/LastEvaluatedKey pagination. A
// page ends at Limit items evaluated (with a LastEvaluatedKey even if
// nothing follows, as DynamoDB does) or once the items read reach
// PageBytes.
func (d *DynamoDB) query(body []byte) (any, *ddbError) {
	var in struct {
		TableName                 string
		IndexName                 *string
		KeyConditionExpression    *string
		FilterExpression          *string
		ProjectionExpression      *string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]AttributeValue
		Limit                     *int
		ExclusiveStartKey         Item
		ScanIndexForward          *bool
		ConsistentRead            *bool
		Select                    string
		ReturnConsumedCapacity    string
		KeyConditions             json.RawMessage
		QueryFilter               json.RawMessage
		ddbLegacy
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch {
	case in.KeyConditions != nil || in.QueryFilter != nil:
		return nil, ddbValidation(fmt.Errorf("legacy parameters (KeyConditions, QueryFilter) are not supported by the fake; use expressions"))
	case in.KeyConditionExpression == nil:
		return nil, ddbValidation(fmt.Errorf("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."))
	case in.Limit != nil && *in.Limit < 1:
		return nil, ddbValidation(fmt.Errorf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit))
	}
	env := newExprEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	parts, err := parseKeyCondition(*in.KeyConditionExpression, env)
	if err != nil {
		return nil, ddbValidation(fmt.Errorf("Invalid KeyConditionExpression: %w", err))
	}
	var filter cond
	if in.FilterExpression != nil {
		if filter, err = parseCondition(*in.FilterExpression, env); err != nil {
			return nil, ddbValidation(fmt.Errorf("Invalid FilterExpression: %w", err))
		}
	}
	var proj []docPath
	if in.ProjectionExpression != nil {
		if proj, err = parseProjection(*in.ProjectionExpression, env); err != nil {
			return nil, ddbValidation(fmt.Errorf("Invalid ProjectionExpression: %w", err))
		}
	}
	if err := env.unused(); err != nil {
		return nil, ddbValidation(err)
	}
	switch in.Select {
	case "", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT":
		if proj != nil && in.Select != "" {
			return nil, ddbValidation(fmt.Errorf("Cannot specify the ProjectionExpression when choosing to get %s", in.Select))
		}
	case "SPECIFIC_ATTRIBUTES":
		if proj == nil {
			return nil, ddbValidation(fmt.Errorf("ProjectionExpression must be specified when Select is SPECIFIC_ATTRIBUTES"))
		}
	default:
		return nil, ddbValidation(fmt.Errorf("1 validation error detected: Value '%s' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]", in.Select))
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[in.TableName]
	if !ok {
		return nil, ddbNotFound(in.TableName)
	}
	key := t.key
	var idx *ddbIndex
	if in.IndexName != nil {
		if idx, ok = t.index(*in.IndexName); !ok {
			return nil, ddbValidation(fmt.Errorf("The table does not have the specified index: %s", *in.IndexName))
		}
		key = idx.Key
		switch {
		case in.ConsistentRead != nil && *in.ConsistentRead:
			return nil, ddbValidation(fmt.Errorf("Consistent reads are not supported on global secondary indexes"))
		case in.Select == "ALL_ATTRIBUTES" && cmpOr(idx.Projection, "ALL") != "ALL":
			return nil, ddbValidation(fmt.Errorf("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index %s because its projection type is not ALL", idx.Name))
		}
	} else if in.Select == "ALL_PROJECTED_ATTRIBUTES" {
		return nil, ddbValidation(fmt.Errorf("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not supported for a query on a table"))
	}
	kc, err := bindKeyCondition(parts, key)
	if err != nil {
		return nil, ddbValidation(err)
	}

	// The matching entries of the table or index, in key order: the sort
	// key, then (in an index, whose keys need not be unique) the table's key.
	type entry struct {
		item  Item
		order string // the table's encoded key, as a tie-breaker
	}
	var entries []entry
	for k, it := range t.items {
		if idx != nil && !idx.contains(it) {
			continue
		}
		if kc.match(it) {
			entries = append(entries, entry{it, k})
		}
	}
	compare := func(a, b Item, ka, kb string) int {
		if len(key) == 2 {
			if c, _ := compareValues(a[key[1].Name], b[key[1].Name]); c != 0 {
				return c
			}
		}
		return strings.Compare(ka, kb)
	}
	slices.SortFunc(entries, func(a, b entry) int { return compare(a.item, b.item, a.order, b.order) })
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	if !forward {
		slices.Reverse(entries)
	}
	// keyOf is what LastEvaluatedKey holds: the table's key, and the
	// index's when querying one.
	keyOf := func(it Item) Item {
		k := t.keyOf(it)
		if idx != nil {
			for _, ka := range idx.Key {
				k[ka.Name] = it[ka.Name]
			}
		}
		return k
	}
	if in.ExclusiveStartKey != nil {
		start := in.ExclusiveStartKey
		want := keyOf(start)
		tableKey, err := t.encodeKey(t.keyOf(start), true)
		if err != nil || len(start) != len(want) || !kc.match(start) {
			return nil, ddbValidation(fmt.Errorf("The provided starting key is invalid: The provided key element does not match the schema"))
		}
		i := slices.IndexFunc(entries, func(e entry) bool {
			c := compare(e.item, start, e.order, tableKey)
			if !forward {
				c = -c
			}
			return c > 0
		})
		if i < 0 {
			i = len(entries)
		}
		entries = entries[i:]
	}

	pageBytes := d.PageBytes
	if pageBytes <= 0 {
		pageBytes = ddbPageBytes
	}
	out := map[string]any{}
	var items []Item
	scanned, size := 0, 0
	for i, e := range entries {
		it := e.item
		if idx != nil {
			it = idx.project(t, it)
		}
		scanned++
		for name, v := range it {
			size += len(name) + valueSize(v)
		}
		if filter == nil || filter.eval(it) {
			if proj != nil {
				it = project(it, proj)
			}
			items = append(items, cloneItem(it))
		}
		last := i == len(entries)-1
		if (in.Limit != nil && scanned == *in.Limit) || (size >= pageBytes && !last) {
			out["LastEvaluatedKey"] = cloneItem(keyOf(e.item))
			break
		}
	}
	if in.Select != "COUNT" {
		if items == nil {
			items = []Item{}
		}
		out["Items"] = items
	}
	out["Count"] = len(items)
	out["ScannedCount"] = scanned
	return out, nil
}
