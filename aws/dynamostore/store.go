package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
)

// API is the part of *dynamodb.Client a Store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Options configure a Store.
type Options struct {
	// Client reads and writes items; a *dynamodb.Client. Required.
	Client API
	// Table is the table's name. Required.
	Table string
	// KeyAttribute is the name of the table's string partition key; "service" if empty.
	KeyAttribute string
	// UnfinishedIndex names the table's global secondary index of
	// unfinished deployments, which Unfinished queries; "unfinished" if
	// empty. Its partition key is the string attribute unfinishedShard and
	// its sort key KeyAttribute (see CreateTableInput). Only Unfinished
	// needs it: a table without it serves Load and Save.
	UnfinishedIndex string
}

// Attribute names of an item, besides the key.
const (
	attrVersion        = "version"
	attrFormat         = "format"
	attrBody           = "body"
	attrLeaseOwner     = "leaseOwner"
	attrLeaseExpires   = "leaseExpires"
	attrLeaseHeartbeat = "leaseHeartbeat"
	attrUnfinished     = "unfinished"
	attrShard          = "unfinishedShard"
)

// shards is how many partitions of the unfinished index an unfinished
// item is spread over (by a hash of its service), so that no one index
// partition takes every write of a large fleet. It is part of the item
// format: a store that wrote with another count would go unlisted.
const shards = 8

// format is the layout of the body this package writes.
const format = 2

// maxBody bounds a record's JSON, leaving room within DynamoDB's 400 KB
// item limit for the other attributes.
const maxBody = 390 << 10

// ErrCorrupt is wrapped by the error Load returns for an item it cannot read.
var ErrCorrupt = errors.New("dynamostore: corrupt item")

// Store is a bluegreen.Store on a DynamoDB table. It is safe for concurrent
// use and keeps no state of its own.
type Store struct {
	opts Options
}

var (
	_ bluegreen.Store      = (*Store)(nil)
	_ bluegreen.ErrorCoder = (*Store)(nil)
	_ driver.Lister        = (*Store)(nil)
)

// New returns a Store on o.Table. It makes no call: a missing table is
// reported by the first Load or Save.
func New(o Options) (*Store, error) {
	switch {
	case o.Client == nil:
		return nil, &bluegreen.ConfigError{Field: "dynamostore.Options.Client", Problem: "nil", Fix: "pass dynamodb.NewFromConfig(cfg)"}
	case strings.TrimSpace(o.Table) == "":
		return nil, &bluegreen.ConfigError{Field: "dynamostore.Options.Table", Problem: "empty", Fix: "name the DynamoDB table that holds deployment state"}
	}
	if o.KeyAttribute == "" {
		o.KeyAttribute = "service"
	}
	if o.UnfinishedIndex == "" {
		o.UnfinishedIndex = "unfinished"
	}
	if n := len(o.UnfinishedIndex); n < 3 || n > 255 || strings.TrimFunc(o.UnfinishedIndex, isIndexNameRune) != "" {
		return nil, &bluegreen.ConfigError{Field: "dynamostore.Options.UnfinishedIndex", Problem: fmt.Sprintf("%q is not a DynamoDB index name", o.UnfinishedIndex),
			Fix: "use 3 to 255 letters, digits, '_', '-' or '.', or leave it empty for \"unfinished\""}
	}
	switch o.KeyAttribute {
	case attrVersion, attrFormat, attrBody, attrLeaseOwner, attrLeaseExpires, attrLeaseHeartbeat, attrUnfinished, attrShard:
		return nil, &bluegreen.ConfigError{Field: "dynamostore.Options.KeyAttribute", Problem: fmt.Sprintf("%q is an attribute of the item", o.KeyAttribute),
			Fix: `use another name, such as "service"`}
	}
	return &Store{opts: o}, nil
}

// isIndexNameRune reports whether r may appear in a DynamoDB index name.
func isIndexNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
}

// CreateTableInput describes the table the Store expects: a string
// partition key named KeyAttribute, on-demand capacity, and the sparse
// global secondary index Options.UnfinishedIndex (partition key
// unfinishedShard, sort key KeyAttribute, projecting the lease's owner and
// heartbeat flag) that Unfinished queries. Pass it to CreateTable, or use it as the template of your
// infrastructure code. To add the index to an existing table, pass its
// GlobalSecondaryIndexes[0] and AttributeDefinitions to UpdateTable.
func (s *Store) CreateTableInput() *dynamodb.CreateTableInput {
	key := aws.String(s.opts.KeyAttribute)
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(s.opts.Table),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   []ddbtypes.KeySchemaElement{{AttributeName: key, KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: key, AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrShard), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName: aws.String(s.opts.UnfinishedIndex),
			KeySchema: []ddbtypes.KeySchemaElement{
				{AttributeName: aws.String(attrShard), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: key, KeyType: ddbtypes.KeyTypeRange},
			},
			// The lease's owner and heartbeat flag, so that an adopter skips
			// the deployments of live owners without loading them. Not the
			// expiry or the state: those change at every save, and would
			// make every save write to the index too; the owner changes
			// only when a deployment is claimed or given up.
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeInclude,
				NonKeyAttributes: []string{attrLeaseOwner, attrLeaseHeartbeat}},
		}},
	}
}

// Load returns the record of service, read with a strongly consistent
// GetItem, or Record{Service: service} if there is none.
func (s *Store) Load(ctx context.Context, service string) (driver.Record, error) {
	if service == "" {
		return driver.Record{}, bluegreen.NewError(bluegreen.CodeInvalid, errors.New("dynamostore: Load: empty service name"))
	}
	out, err := s.opts.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.opts.Table),
		Key:            map[string]ddbtypes.AttributeValue{s.opts.KeyAttribute: &ddbtypes.AttributeValueMemberS{Value: service}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return driver.Record{}, s.apiError("load", service, err)
	}
	if out.Item == nil {
		return driver.Record{Service: service}, nil
	}
	rec, err := decodeItem(out.Item, service)
	if err != nil {
		return driver.Record{}, bluegreen.NewError(bluegreen.CodeFailedPrecondition,
			fmt.Errorf("%w %s=%q in table %s: %v; it was not written by this package or was edited by hand: fix or delete it (nothing will overwrite it)",
				ErrCorrupt, s.opts.KeyAttribute, service, s.opts.Table, err))
	}
	return rec, nil
}

// Save writes rec if the stored version is still rec.Version, with one
// conditional PutItem, and returns the new version.
func (s *Store) Save(ctx context.Context, rec driver.Record) (int64, error) {
	switch {
	case rec.Service == "":
		return 0, bluegreen.NewError(bluegreen.CodeInvalid, errors.New("dynamostore: Save: record has no service"))
	case rec.Version < 0:
		return 0, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("dynamostore: Save: service %s: negative version %d", rec.Service, rec.Version))
	}
	item, err := encodeItem(s.opts.KeyAttribute, rec)
	if err != nil {
		return 0, err
	}
	in := &dynamodb.PutItemInput{
		TableName:                           aws.String(s.opts.Table),
		Item:                                item,
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if rec.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#k)")
		in.ExpressionAttributeNames = map[string]string{"#k": s.opts.KeyAttribute}
	} else {
		// The version is the lease's fencing token; a format above ours
		// was written by a newer version, which this one must not undo.
		in.ConditionExpression = aws.String("#v = :v AND #f <= :f")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion, "#f": attrFormat}
		in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{
			":v": number(rec.Version),
			":f": number(format),
		}
	}
	if _, err := s.opts.Client.PutItem(ctx, in); err != nil {
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return 0, bluegreen.NewError(bluegreen.CodeConflict, fmt.Errorf("dynamostore: service %s: %s, not version %d: load it again and retry: %w",
				rec.Service, describeHolder(ccf.Item), rec.Version, err))
		}
		return 0, s.apiError("save", rec.Service, err)
	}
	return rec.Version + 1, nil
}

// Delete removes the record of service if the stored version is still
// version, with one conditional DeleteItem (driver.Deleter). The Deployer
// removes only its heartbeat record this way.
func (s *Store) Delete(ctx context.Context, service string, version int64) error {
	switch {
	case service == "":
		return bluegreen.NewError(bluegreen.CodeInvalid, errors.New("dynamostore: Delete: empty service name"))
	case version < 1:
		return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("dynamostore: Delete: service %s: version %d was never stored", service, version))
	}
	_, err := s.opts.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.opts.Table),
		Key:                                 map[string]ddbtypes.AttributeValue{s.opts.KeyAttribute: &ddbtypes.AttributeValueMemberS{Value: service}},
		ConditionExpression:                 aws.String("#v = :v"),
		ExpressionAttributeNames:            map[string]string{"#v": attrVersion},
		ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":v": number(version)},
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return bluegreen.NewError(bluegreen.CodeConflict, fmt.Errorf("dynamostore: service %s: %s, not version %d: nothing deleted: %w",
				service, describeHolder(ccf.Item), version, err))
		}
		return s.apiError("delete", service, err)
	}
	return nil
}

// apiError classifies a failed call and says what to do about a missing table.
func (s *Store) apiError(op, service string, err error) error {
	code := s.ErrorCode(err)
	if code == bluegreen.CodeNotFound {
		return bluegreen.NewError(code, fmt.Errorf("dynamostore: %s %s: table %s not found: create it (see Store.CreateTableInput) or fix Options.Table: %w",
			op, service, s.opts.Table, err))
	}
	return bluegreen.NewError(code, fmt.Errorf("dynamostore: %s %s: %w", op, service, err))
}

// describeHolder says what is stored, from the item a failed condition
// returned: its version and lease holder.
func describeHolder(item map[string]ddbtypes.AttributeValue) string {
	if item == nil {
		return "no record is stored"
	}
	desc := "the stored record is at version ?"
	if v, ok := item[attrVersion].(*ddbtypes.AttributeValueMemberN); ok {
		desc = "the stored record is at version " + v.Value
	}
	owner, _ := item[attrLeaseOwner].(*ddbtypes.AttributeValueMemberS)
	if owner == nil || owner.Value == "" {
		return desc
	}
	desc += ", leased by " + owner.Value
	if exp, ok := item[attrLeaseExpires].(*ddbtypes.AttributeValueMemberN); ok {
		if ms, err := strconv.ParseInt(exp.Value, 10, 64); err == nil {
			desc += " until " + time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
		}
	}
	return desc
}

func number(n int64) *ddbtypes.AttributeValueMemberN {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
