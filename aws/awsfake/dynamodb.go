package awsfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ddbTargetPrefix prefixes the X-Amz-Target header of DynamoDB requests.
const ddbTargetPrefix = "DynamoDB_20120810."

// ddbMaxItemSize is DynamoDB's item size limit.
const ddbMaxItemSize = 400 << 10

// ddbMaxRequests bounds the request log.
const ddbMaxRequests = 10000

// KeyAttribute is one attribute of a table's primary key.
type KeyAttribute struct {
	// Name is the attribute name.
	Name string
	// Type is "S", "N" or "B".
	Type string
}

// DynamoDBRequest is a request the fake served, for tests that check what an
// adapter sent (ConsistentRead, a ConditionExpression).
type DynamoDBRequest struct {
	// Op is the operation, such as "PutItem".
	Op string
	// Body is the JSON request body.
	Body json.RawMessage
}

type ddbTable struct {
	name    string
	key     []KeyAttribute // partition key, then sort key if any
	created time.Time
	items   map[string]Item // by encoded key
	indexes []*ddbIndex     // global secondary indexes
}

// DynamoDB is a fake of the DynamoDB JSON 1.0 API (X-Amz-Target:
// DynamoDB_20120810.<Op>): CreateTable (with global secondary indexes),
// DescribeTable, GetItem, PutItem and Query (on a
// table or a sparse global secondary index, paginated) — what the store
// adapter calls — with condition, key condition, filter and projection
// expressions. Every request is
// served atomically, so conditional writes are a true compare-and-swap, and
// indexes are read consistently (real ones are eventually consistent). It is
// safe for concurrent use.
type DynamoDB struct {
	// Faults counts calls per operation ("PutItem") and injects faults.
	Faults Faults
	// PageBytes ends a Query page once the items it read reach this many
	// bytes (approximately); DynamoDB's 1 MB if zero. Set it before serving
	// to make small tables paginate.
	PageBytes int

	mu       sync.Mutex
	tables   map[string]*ddbTable
	requests []DynamoDBRequest
}

// NewDynamoDB returns a fake with no tables.
func NewDynamoDB() *DynamoDB { return &DynamoDB{tables: map[string]*ddbTable{}} }

// AddTable creates table name keyed by the given attributes (a partition key
// and optionally a sort key), or replaces it with an empty one.
func (d *DynamoDB) AddTable(name string, key ...KeyAttribute) {
	d.mu.Lock()
	d.tables[name] = &ddbTable{name: name, key: slices.Clone(key), created: time.Now(), items: map[string]Item{}}
	d.mu.Unlock()
}

// Item returns the item of table with the given key attributes.
func (d *DynamoDB) Item(table string, key Item) (Item, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[table]
	if !ok {
		return nil, false
	}
	k, err := t.encodeKey(key, true)
	if err != nil {
		return nil, false
	}
	it, ok := t.items[k]
	return cloneItem(it), ok
}

// SetItem stores item in table unconditionally, as a test's setup or a
// corruption would.
func (d *DynamoDB) SetItem(table string, item Item) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[table]
	if !ok {
		return fmt.Errorf("awsfake: no table %q", table)
	}
	k, err := t.encodeKey(item, false)
	if err != nil {
		return err
	}
	t.items[k] = cloneItem(item)
	return nil
}

// Items returns every item of table, in key order.
func (d *DynamoDB) Items(table string) []Item {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[table]
	if !ok {
		return nil
	}
	var out []Item
	for _, k := range slices.Sorted(maps.Keys(t.items)) {
		out = append(out, cloneItem(t.items[k]))
	}
	return out
}

// Requests returns the requests served, oldest first (the last 10000).
func (d *DynamoDB) Requests() []DynamoDBRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.requests)
}

// encodeKey checks that item carries the key attributes with their types and
// returns the item's key as a map key. exact also rejects other attributes,
// as a Key parameter must.
func (t *ddbTable) encodeKey(item Item, exact bool) (string, error) {
	if exact && len(item) != len(t.key) {
		return "", fmt.Errorf("The provided key element does not match the schema")
	}
	var b strings.Builder
	for _, ka := range t.key {
		v, ok := item[ka.Name]
		if !ok {
			if exact {
				return "", fmt.Errorf("The provided key element does not match the schema")
			}
			return "", fmt.Errorf("One or more parameter values were invalid: Missing the key %s in the item", ka.Name)
		}
		if v.Type() != ka.Type {
			return "", fmt.Errorf("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", ka.Name, ka.Type, v.Type())
		}
		s := v.String()
		if v.N != nil {
			s = canonicalNumber(*v.N)
		}
		if (v.S != nil && *v.S == "") || (v.B != nil && len(v.B) == 0) {
			return "", fmt.Errorf("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty value. Key: %s", ka.Name)
		}
		b.WriteString(strconv.Quote(s))
		b.WriteByte(0)
	}
	return b.String(), nil
}

// keyOf returns the key attributes of item.
func (t *ddbTable) keyOf(item Item) Item {
	k := Item{}
	for _, ka := range t.key {
		k[ka.Name] = item[ka.Name]
	}
	return k
}

// ddbError is an error the fake answers with.
type ddbError struct {
	status  int
	typ     string // the __type, such as "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
	message string
	item    Item // for ConditionalCheckFailedException with ALL_OLD
}

func (e *ddbError) Error() string { return e.typ + ": " + e.message }

func ddbValidation(err error) *ddbError {
	return &ddbError{status: http.StatusBadRequest, typ: "com.amazon.coral.validate#ValidationException", message: err.Error()}
}

func ddbNotFound(table string) *ddbError {
	return &ddbError{status: http.StatusBadRequest, typ: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
		message: "Requested resource not found: Table: " + table + " not found"}
}

// ServeHTTP serves the JSON 1.0 operations of the fake.
func (d *DynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ddbTargetPrefix)
	if !ok || r.Method != http.MethodPost || r.URL.Path != "/" {
		ddbWrite(w, nil, &ddbError{status: http.StatusBadRequest, typ: "com.amazon.coral.service#UnknownOperationException",
			message: "unknown operation " + r.Header.Get("X-Amz-Target")})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		ddbWrite(w, nil, &ddbError{status: http.StatusBadRequest, typ: "com.amazon.coral.service#SerializationException",
			message: "Content-Type is " + ct + ", want application/x-amz-json-1.0"})
		return
	}
	handler, ok := map[string]func([]byte) (any, *ddbError){
		"CreateTable":   d.createTable,
		"DescribeTable": d.describeTable,
		"GetItem":       d.getItem,
		"PutItem":       d.putItem,
		"DeleteItem":    d.deleteItem,
		"Query":         d.query,
	}[op]
	if !ok {
		ddbWrite(w, nil, &ddbError{status: http.StatusBadRequest, typ: "com.amazon.coral.service#UnknownOperationException",
			message: "operation " + op + " is not served by the fake"})
		return
	}
	if f, faulted := d.Faults.Check(op); faulted {
		ddbWrite(w, nil, &ddbError{status: f.Status, typ: "com.amazonaws.dynamodb.v20120810#" + f.Code, message: f.Message})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		ddbWrite(w, nil, ddbValidation(fmt.Errorf("read body: %w", err)))
		return
	}
	d.mu.Lock()
	if len(d.requests) >= ddbMaxRequests {
		d.requests = slices.Delete(d.requests, 0, len(d.requests)-ddbMaxRequests+1)
	}
	d.requests = append(d.requests, DynamoDBRequest{Op: op, Body: body})
	d.mu.Unlock()
	out, apiErr := handler(body)
	ddbWrite(w, out, apiErr)
}

// ddbDecode decodes a request body strictly, so that an adapter sending a
// parameter the fake does not implement finds out.
func ddbDecode(body []byte, v any) *ddbError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var syntax *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax):
		return &ddbError{status: http.StatusBadRequest, typ: "com.amazon.coral.service#SerializationException", message: err.Error()}
	}
	// Bad attribute values and parameters the fake does not know.
	return ddbValidation(err)
}

// ddbWrite writes a JSON 1.0 response or error, with the X-Amz-Crc32
// checksum header DynamoDB sends and the SDK verifies.
func ddbWrite(w http.ResponseWriter, out any, e *ddbError) {
	status := http.StatusOK
	if e != nil {
		status = e.status
		body := map[string]any{"__type": e.typ, "message": e.message}
		if e.item != nil {
			body["Item"] = e.item
		}
		out = body
	}
	if out == nil {
		out = struct{}{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
