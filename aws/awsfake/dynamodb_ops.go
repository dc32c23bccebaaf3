package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

type ddbKeySchemaElement struct {
	AttributeName string
	KeyType       string
}

type ddbAttributeDefinition struct {
	AttributeName string
	AttributeType string
}

// ddbLegacy holds the legacy (pre-expression) parameters, which the fake
// rejects rather than ignores.
type ddbLegacy struct {
	Expected            json.RawMessage `json:",omitempty"`
	ConditionalOperator json.RawMessage `json:",omitempty"`
	AttributeUpdates    json.RawMessage `json:",omitempty"`
	AttributesToGet     json.RawMessage `json:",omitempty"`
}

func (l ddbLegacy) check() *ddbError {
	if l.Expected != nil || l.ConditionalOperator != nil || l.AttributeUpdates != nil || l.AttributesToGet != nil {
		return ddbValidation(fmt.Errorf("legacy parameters (Expected, ConditionalOperator, AttributeUpdates, AttributesToGet) are not supported by the fake; use expressions"))
	}
	return nil
}

// ddbWriteInput holds the parameters of a write (PutItem).
type ddbWriteInput struct {
	TableName                           string
	ConditionExpression                 *string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]AttributeValue
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
	ReturnConsumedCapacity              string
	ReturnItemCollectionMetrics         string
	ddbLegacy
}

func (d *DynamoDB) tableDescription(t *ddbTable) map[string]any {
	var schema []ddbKeySchemaElement
	var defs []ddbAttributeDefinition
	for i, k := range t.key {
		typ := "HASH"
		if i > 0 {
			typ = "RANGE"
		}
		schema = append(schema, ddbKeySchemaElement{k.Name, typ})
		defs = append(defs, ddbAttributeDefinition{k.Name, k.Type})
	}
	var indexes []map[string]any
	for _, idx := range t.indexes {
		indexes = append(indexes, idx.describe(t))
		for _, k := range idx.Key {
			if !slices.ContainsFunc(defs, func(a ddbAttributeDefinition) bool { return a.AttributeName == k.Name }) {
				defs = append(defs, ddbAttributeDefinition{k.Name, k.Type})
			}
		}
	}
	desc := map[string]any{
		"TableName":            t.name,
		"TableArn":             "arn:aws:dynamodb:us-east-1:123456789012:table/" + t.name,
		"TableStatus":          "ACTIVE",
		"KeySchema":            schema,
		"AttributeDefinitions": defs,
		"CreationDateTime":     float64(t.created.UnixMilli()) / 1000,
		"ItemCount":            len(t.items),
		"TableSizeBytes":       0,
		"BillingModeSummary":   map[string]string{"BillingMode": "PAY_PER_REQUEST"},
	}
	if indexes != nil {
		desc["GlobalSecondaryIndexes"] = indexes
	}
	return desc
}

func (d *DynamoDB) createTable(body []byte) (any, *ddbError) {
	var in struct {
		TableName              string
		KeySchema              []ddbKeySchemaElement
		AttributeDefinitions   []ddbAttributeDefinition
		GlobalSecondaryIndexes []struct {
			IndexName  string
			KeySchema  []ddbKeySchemaElement
			Projection struct {
				ProjectionType   string
				NonKeyAttributes []string
			}
		}
	}
	if err := json.Unmarshal(body, &in); err != nil { // lenient: billing, tags and the like are accepted and ignored
		return nil, &ddbError{status: http.StatusBadRequest, typ: "com.amazon.coral.service#SerializationException", message: err.Error()}
	}
	if in.TableName == "" || len(in.KeySchema) == 0 || len(in.KeySchema) > 2 || in.KeySchema[0].KeyType != "HASH" {
		return nil, ddbValidation(fmt.Errorf("1 validation error detected: TableName and a KeySchema of a HASH key and an optional RANGE key are required"))
	}
	used := map[string]bool{}
	keyOf := func(schema []ddbKeySchemaElement) ([]KeyAttribute, *ddbError) {
		var key []KeyAttribute
		for i, k := range schema {
			if want := map[bool]string{true: "HASH", false: "RANGE"}[i == 0]; k.KeyType != want {
				return nil, ddbValidation(fmt.Errorf("1 validation error detected: a KeySchema is a HASH key and an optional RANGE key, in that order"))
			}
			j := slices.IndexFunc(in.AttributeDefinitions, func(a ddbAttributeDefinition) bool { return a.AttributeName == k.AttributeName })
			if j < 0 {
				return nil, ddbValidation(fmt.Errorf("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s]", k.AttributeName))
			}
			used[k.AttributeName] = true
			key = append(key, KeyAttribute{Name: k.AttributeName, Type: in.AttributeDefinitions[j].AttributeType})
		}
		return key, nil
	}
	key, apiErr := keyOf(in.KeySchema)
	if apiErr != nil {
		return nil, apiErr
	}
	var indexes []*ddbIndex
	for _, g := range in.GlobalSecondaryIndexes {
		k, apiErr := keyOf(g.KeySchema)
		if apiErr != nil {
			return nil, apiErr
		}
		idx := GlobalSecondaryIndex{Name: g.IndexName, Key: k, Projection: g.Projection.ProjectionType, NonKeyAttributes: g.Projection.NonKeyAttributes}
		if idx.Projection == "" {
			return nil, ddbValidation(fmt.Errorf("1 validation error detected: Value null at 'globalSecondaryIndexes.member.projection' failed to satisfy constraint: Member must not be null"))
		}
		if err := checkIndex(idx); err != nil {
			return nil, ddbValidation(err)
		}
		if slices.ContainsFunc(indexes, func(i *ddbIndex) bool { return i.Name == idx.Name }) {
			return nil, ddbValidation(fmt.Errorf("One or more parameter values were invalid: Duplicate index name: %s", idx.Name))
		}
		indexes = append(indexes, &ddbIndex{idx})
	}
	if len(used) != len(in.AttributeDefinitions) {
		return nil, ddbValidation(fmt.Errorf("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tables[in.TableName]; ok {
		return nil, &ddbError{status: http.StatusBadRequest, typ: "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
			message: "Table already exists: " + in.TableName}
	}
	t := &ddbTable{name: in.TableName, key: key, created: time.Now(), items: map[string]Item{}, indexes: indexes}
	d.tables[in.TableName] = t
	return map[string]any{"TableDescription": d.tableDescription(t)}, nil
}

func (d *DynamoDB) describeTable(body []byte) (any, *ddbError) {
	var in struct{ TableName string }
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[in.TableName]
	if !ok {
		return nil, ddbNotFound(in.TableName)
	}
	return map[string]any{"Table": d.tableDescription(t)}, nil
}

func (d *DynamoDB) getItem(body []byte) (any, *ddbError) {
	var in struct {
		TableName                string
		Key                      Item
		ConsistentRead           *bool
		ProjectionExpression     *string
		ExpressionAttributeNames map[string]string
		ReturnConsumedCapacity   string
		ddbLegacy
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	env := newExprEnv(in.ExpressionAttributeNames, nil)
	var proj []docPath
	if in.ProjectionExpression != nil {
		var err error
		if proj, err = parseProjection(*in.ProjectionExpression, env); err != nil {
			return nil, ddbValidation(fmt.Errorf("Invalid ProjectionExpression: %w", err))
		}
	}
	if err := env.unused(); err != nil {
		return nil, ddbValidation(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, k, apiErr := d.locate(in.TableName, in.Key, true)
	if apiErr != nil {
		return nil, apiErr
	}
	item, ok := t.items[k]
	if !ok {
		return struct{}{}, nil
	}
	if proj != nil {
		item = project(item, proj)
	}
	return map[string]any{"Item": item}, nil
}

// locate finds table and the storage key of the item keyed names (a Key
// parameter if isKey, else a whole item). Call with d.mu held.
func (d *DynamoDB) locate(table string, keyed Item, isKey bool) (*ddbTable, string, *ddbError) {
	t, ok := d.tables[table]
	if !ok {
		return nil, "", ddbNotFound(table)
	}
	k, err := t.encodeKey(keyed, isKey)
	if err != nil {
		return nil, "", ddbValidation(err)
	}
	return t, k, nil
}

func (d *DynamoDB) putItem(body []byte) (any, *ddbError) {
	var in struct {
		Item Item
		ddbWriteInput
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	return d.write(in.ddbWriteInput, in.Item, false, func(Item) (Item, *ddbError) { return in.Item, nil })
}

func (d *DynamoDB) deleteItem(body []byte) (any, *ddbError) {
	var in struct {
		Key Item
		ddbWriteInput
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	return d.write(in.ddbWriteInput, in.Key, true, func(Item) (Item, *ddbError) { return nil, nil })
}

// write serves PutItem and DeleteItem, the write operations adapters call: it
// finds the item by the key attributes of keyed (a Key parameter if isKey,
// else the new item), checks the condition against it, and stores what
// next returns.
func (d *DynamoDB) write(in ddbWriteInput, keyed Item, isKey bool, next func(old Item) (Item, *ddbError)) (any, *ddbError) {
	if err := in.check(); err != nil {
		return nil, err
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD":
	default:
		return nil, ddbValidation(fmt.Errorf("ReturnValues %s is not supported by the fake", in.ReturnValues))
	}
	env := newExprEnv(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	var condition cond
	if in.ConditionExpression != nil {
		var err error
		if condition, err = parseCondition(*in.ConditionExpression, env); err != nil {
			return nil, ddbValidation(fmt.Errorf("Invalid ConditionExpression: %w", err))
		}
	}
	if err := env.unused(); err != nil {
		return nil, ddbValidation(err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	t, k, apiErr := d.locate(in.TableName, keyed, isKey)
	if apiErr != nil {
		return nil, apiErr
	}
	old := t.items[k]
	if condition != nil && !condition.eval(old) {
		e := &ddbError{status: http.StatusBadRequest, typ: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
			message: "The conditional request failed"}
		if in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil {
			e.item = cloneItem(old)
		}
		return nil, e
	}
	item, apiErr := next(old)
	if apiErr != nil {
		return nil, apiErr
	}
	if item != nil {
		if newKey, err := t.encodeKey(t.keyOf(item), true); err != nil || newKey != k {
			return nil, ddbValidation(fmt.Errorf("Cannot update attribute %s. This attribute is part of the key", t.key[0].Name))
		}
		size := 0
		for name, v := range item {
			size += len(name) + valueSize(v)
		}
		if size > ddbMaxItemSize {
			return nil, ddbValidation(fmt.Errorf("Item size has exceeded the maximum allowed size"))
		}
		if err := t.checkIndexKeys(item); err != nil {
			return nil, ddbValidation(err)
		}
		t.items[k] = cloneItem(item)
	} else {
		delete(t.items, k)
	}
	out := map[string]any{}
	switch {
	case in.ReturnValues == "ALL_OLD" && old != nil:
		out["Attributes"] = cloneItem(old)
	case in.ReturnValues == "ALL_NEW" && item != nil:
		out["Attributes"] = cloneItem(item)
	}
	return out, nil
}
