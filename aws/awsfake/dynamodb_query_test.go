package awsfake

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

func sv(s string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: s} }

// newIndexedTable creates, with the SDK's CreateTable, a table keyed by
// "service" with a sparse index "open" on (shard, service), projection
// projection, and puts items: svc-00…svc-(n-1), those with an even number
// carrying shard = "0" or "1" (by their number's remainder of 4), the odd
// ones no shard at all.
func newIndexedTable(t *testing.T, projection ddbtypes.ProjectionType, n int) (*DynamoDB, *dynamodb.Client) {
	t.Helper()
	fake := NewDynamoDB()
	client := dynamodb.NewFromConfig(Config(ServeTest(t, fake)))
	_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:   aws.String(testTable),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   []ddbtypes.KeySchemaElement{{AttributeName: aws.String("service"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("service"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("shard"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName: aws.String("open"),
			KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("shard"), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: aws.String("service"), KeyType: ddbtypes.KeyTypeRange}},
			Projection: &ddbtypes.Projection{ProjectionType: projection},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		item := map[string]ddbtypes.AttributeValue{"service": sv(fmt.Sprintf("svc-%02d", i)), "body": sv("b")}
		if i%2 == 0 {
			item["shard"] = sv(fmt.Sprint(i % 4 / 2))
		}
		if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(testTable), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	return fake, client
}

// shardQuery returns the input of a query of the "open" index's shard.
func shardQuery(shard string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(testTable),
		IndexName:                 aws.String("open"),
		KeyConditionExpression:    aws.String("#s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "shard"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": sv(shard)},
	}
}

// services returns the service names of items.
func services(items []map[string]ddbtypes.AttributeValue) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["service"].(*ddbtypes.AttributeValueMemberS).Value)
	}
	return out
}

func TestDynamoDBQuerySparseIndex(t *testing.T) {
	tests := []struct {
		name       string
		projection ddbtypes.ProjectionType
		change     func(*dynamodb.QueryInput)
		want       []string
		wantAttrs  []string // of every item
	}{
		{"all", ddbtypes.ProjectionTypeAll, nil, []string{"svc-00", "svc-04", "svc-08"}, []string{"body", "service", "shard"}},
		{"keys only", ddbtypes.ProjectionTypeKeysOnly, nil, []string{"svc-00", "svc-04", "svc-08"}, []string{"service", "shard"}},
		{"backward", ddbtypes.ProjectionTypeAll, func(in *dynamodb.QueryInput) { in.ScanIndexForward = aws.Bool(false) },
			[]string{"svc-08", "svc-04", "svc-00"}, []string{"body", "service", "shard"}},
		{"sort key condition", ddbtypes.ProjectionTypeAll, func(in *dynamodb.QueryInput) {
			in.KeyConditionExpression = aws.String("#s = :s AND service > :after")
			in.ExpressionAttributeValues[":after"] = sv("svc-00")
		}, []string{"svc-04", "svc-08"}, []string{"body", "service", "shard"}},
		{"begins_with", ddbtypes.ProjectionTypeAll, func(in *dynamodb.QueryInput) {
			in.KeyConditionExpression = aws.String("begins_with(service, :p) AND #s = :s")
			in.ExpressionAttributeValues[":p"] = sv("svc-0")
		}, []string{"svc-00", "svc-04", "svc-08"}, []string{"body", "service", "shard"}},
		{"between", ddbtypes.ProjectionTypeAll, func(in *dynamodb.QueryInput) {
			in.KeyConditionExpression = aws.String("#s = :s AND service BETWEEN :lo AND :hi")
			in.ExpressionAttributeValues[":lo"], in.ExpressionAttributeValues[":hi"] = sv("svc-01"), sv("svc-04")
		}, []string{"svc-04"}, []string{"body", "service", "shard"}},
		{"projection expression", ddbtypes.ProjectionTypeAll, func(in *dynamodb.QueryInput) { in.ProjectionExpression = aws.String("service") },
			[]string{"svc-00", "svc-04", "svc-08"}, []string{"service"}},
		{"filter", ddbtypes.ProjectionTypeAll, func(in *dynamodb.QueryInput) {
			in.FilterExpression = aws.String("service <> :x")
			in.ExpressionAttributeValues[":x"] = sv("svc-04")
		}, []string{"svc-00", "svc-08"}, []string{"body", "service", "shard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, client := newIndexedTable(t, tt.projection, 10)
			in := shardQuery("0")
			if tt.change != nil {
				tt.change(in)
			}
			out, err := client.Query(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, services(out.Items)); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			for _, it := range out.Items {
				var attrs []string
				for _, a := range []string{"body", "service", "shard"} {
					if _, ok := it[a]; ok {
						attrs = append(attrs, a)
					}
				}
				if diff := cmp.Diff(tt.wantAttrs, attrs); diff != "" {
					t.Errorf("attributes of %v (-want +got):\n%s", it["service"], diff)
				}
			}
			if out.LastEvaluatedKey != nil {
				t.Errorf("LastEvaluatedKey %v on a single page", out.LastEvaluatedKey)
			}
		})
	}
}

// TestDynamoDBQueryPagination pages through a shard with Limit and with a
// small page size: every item once, in order, and the last page of a Limit
// that divides the count exactly ends with a LastEvaluatedKey and an empty
// page after it, as DynamoDB does.
func TestDynamoDBQueryPagination(t *testing.T) {
	const n = 40 // 10 in each of shards "0" and "1"
	var want []string
	for i := 0; i < n; i += 4 {
		want = append(want, fmt.Sprintf("svc-%02d", i))
	}
	tests := []struct {
		name      string
		limit     int32
		pageBytes int
		wantPages int
	}{
		{"limit 3", 3, 0, 4},
		{"limit 5", 5, 0, 3}, // 5, 5, then an empty page
		{"limit 100", 100, 0, 1},
		{"page bytes", 0, 100, 4}, // an item is ~45 bytes: 3 per page
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client := newIndexedTable(t, ddbtypes.ProjectionTypeKeysOnly, n)
			fake.PageBytes = tt.pageBytes
			in := shardQuery("0")
			if tt.limit > 0 {
				in.Limit = aws.Int32(tt.limit)
			}
			var got []string
			pages := 0
			for p := dynamodb.NewQueryPaginator(client, in); p.HasMorePages() && pages < 100; {
				out, err := p.NextPage(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, services(out.Items)...)
				if out.LastEvaluatedKey != nil {
					if diff := cmp.Diff([]string{"service", "shard"}, keys(out.LastEvaluatedKey)); diff != "" {
						t.Errorf("LastEvaluatedKey attributes (-want +got):\n%s", diff)
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("services over all pages (-want +got):\n%s", diff)
			}
			if pages != tt.wantPages {
				t.Errorf("%d pages, want %d", pages, tt.wantPages)
			}
		})
	}
}

func keys(m map[string]ddbtypes.AttributeValue) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	if len(out) == 2 && out[0] > out[1] {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// TestDynamoDBIndexFollowsWrites: an item leaves the sparse index when the
// attribute goes and moves between partitions when it changes.
func TestDynamoDBIndexFollowsWrites(t *testing.T) {
	_, client := newIndexedTable(t, ddbtypes.ProjectionTypeKeysOnly, 0)
	put := func(item map[string]ddbtypes.AttributeValue) {
		t.Helper()
		if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(testTable), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(shard string) []string {
		t.Helper()
		out, err := client.Query(t.Context(), shardQuery(shard))
		if err != nil {
			t.Fatal(err)
		}
		return services(out.Items)
	}
	put(map[string]ddbtypes.AttributeValue{"service": sv("web"), "shard": sv("0")})
	put(map[string]ddbtypes.AttributeValue{"service": sv("api"), "shard": sv("0")})
	if diff := cmp.Diff([]string{"api", "web"}, list("0")); diff != "" {
		t.Errorf("shard 0 (-want +got):\n%s", diff)
	}
	put(map[string]ddbtypes.AttributeValue{"service": sv("web")})
	put(map[string]ddbtypes.AttributeValue{"service": sv("api"), "shard": sv("1")})
	if got := list("0"); got != nil {
		t.Errorf("shard 0 after the attribute went or changed: %v, want nothing", got)
	}
	if diff := cmp.Diff([]string{"api"}, list("1")); diff != "" {
		t.Errorf("shard 1 (-want +got):\n%s", diff)
	}
	desc, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(testTable)})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Table.GlobalSecondaryIndexes) != 1 || aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName) != "open" ||
		aws.ToInt64(desc.Table.GlobalSecondaryIndexes[0].ItemCount) != 1 || desc.Table.GlobalSecondaryIndexes[0].IndexStatus != ddbtypes.IndexStatusActive {
		t.Errorf("DescribeTable's indexes: %+v", desc.Table.GlobalSecondaryIndexes)
	}
}

func TestDynamoDBQueryErrors(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*dynamodb.QueryInput)
		wantMsg string
	}{
		{"no such index", func(in *dynamodb.QueryInput) { in.IndexName = aws.String("nope") }, "The table does not have the specified index: nope"},
		{"consistent read on an index", func(in *dynamodb.QueryInput) { in.ConsistentRead = aws.Bool(true) }, "Consistent reads are not supported"},
		{"not the partition key", func(in *dynamodb.QueryInput) { in.ExpressionAttributeNames["#s"] = "body" }, "Query condition missed key schema element: shard"},
		{"partition key not equal", func(in *dynamodb.QueryInput) { in.KeyConditionExpression = aws.String("#s > :s") }, "Query key condition not supported"},
		{"no key condition", func(in *dynamodb.QueryInput) {
			in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = nil, nil, nil
		}, "KeyConditionExpression parameter must be specified"},
		{"wrong value type", func(in *dynamodb.QueryInput) {
			in.ExpressionAttributeValues[":s"] = &ddbtypes.AttributeValueMemberN{Value: "0"}
		}, "Condition parameter type does not match schema type"},
		{"unused value", func(in *dynamodb.QueryInput) { in.ExpressionAttributeValues[":x"] = sv("x") }, "unused in expressions"},
		{"bad start key", func(in *dynamodb.QueryInput) {
			in.ExclusiveStartKey = map[string]ddbtypes.AttributeValue{"service": sv("svc-00")}
		}, "The provided starting key is invalid"},
		{"all attributes of a keys-only index", func(in *dynamodb.QueryInput) { in.Select = ddbtypes.SelectAllAttributes }, "projection type is not ALL"},
		{"zero limit", func(in *dynamodb.QueryInput) { in.Limit = aws.Int32(0) }, "greater than or equal to 1"},
	}
	_, client := newIndexedTable(t, ddbtypes.ProjectionTypeKeysOnly, 4)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := shardQuery("0")
			tt.change(in)
			_, err := client.Query(t.Context(), in)
			if code := apiCode(err); code != "ValidationException" || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want a ValidationException containing %q", err, tt.wantMsg)
			}
		})
	}
	t.Run("missing table", func(t *testing.T) {
		in := shardQuery("0")
		in.TableName = aws.String("nope")
		if _, err := client.Query(t.Context(), in); apiCode(err) != "ResourceNotFoundException" {
			t.Errorf("err = %v, want ResourceNotFoundException", err)
		}
	})
}

// TestDynamoDBIndexKeyWrites: a write giving an index key attribute the
// wrong type or an empty value is refused, as DynamoDB refuses it; so is a
// CreateTable whose AttributeDefinitions name an attribute no key uses.
func TestDynamoDBIndexKeyWrites(t *testing.T) {
	_, client := newIndexedTable(t, ddbtypes.ProjectionTypeAll, 0)
	for name, tt := range map[string]struct {
		shard   ddbtypes.AttributeValue
		wantMsg string
	}{
		"wrong type":   {&ddbtypes.AttributeValueMemberN{Value: "1"}, "Type mismatch for Index Key shard"},
		"empty string": {sv(""), "secondary index key"},
	} {
		_, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(testTable),
			Item: map[string]ddbtypes.AttributeValue{"service": sv("web"), "shard": tt.shard}})
		if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: err = %v, want a ValidationException containing %q", name, err, tt.wantMsg)
		}
	}
	_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName: aws.String("other"),
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("service"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("service"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("extra"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	})
	if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "does not exactly match") {
		t.Errorf("CreateTable with an unused attribute definition: err = %v", err)
	}
}
