package awsfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testTable = "state"

func newDynamoDBClient(t *testing.T) (*DynamoDB, *dynamodb.Client) {
	t.Helper()
	fake := NewDynamoDB()
	fake.AddTable(testTable, KeyAttribute{Name: "service", Type: "S"})
	return fake, dynamodb.NewFromConfig(Config(ServeTest(t, fake)))
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestDynamoDBCreateAndDescribeTable(t *testing.T) {
	_, client := newDynamoDBClient(t)
	_, err := client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String("events"),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String("seq"), KeyType: ddbtypes.KeyTypeRange}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}, {AttributeName: aws.String("seq"), AttributeType: ddbtypes.ScalarAttributeTypeN}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamodb.NewTableExistsWaiter(client).Wait(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String("events")}, time.Minute); err != nil {
		t.Fatalf("table exists waiter: %v", err)
	}
	_, err = client.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String("events"),
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
	})
	var inUse *ddbtypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("second CreateTable: err = %v, want ResourceInUseException", err)
	}
	// Items of a table with a numeric sort key: "1.0" and "1" are the same key.
	for _, seq := range []string{"1.0", "1", "2"} {
		if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("events"), Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "seq": &ddbtypes.AttributeValueMemberN{Value: seq}}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt64(out.Table.ItemCount); got != 2 || out.Table.TableStatus != ddbtypes.TableStatusActive {
		t.Errorf("DescribeTable: ItemCount %d status %s, want 2 ACTIVE", got, out.Table.TableStatus)
	}
	_, err = client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
	var nf *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeTable of a missing table: err = %v, want ResourceNotFoundException", err)
	}
}

func TestDynamoDBAttributeTypesRoundTrip(t *testing.T) {
	_, client := newDynamoDBClient(t)
	item := map[string]ddbtypes.AttributeValue{
		"service": &ddbtypes.AttributeValueMemberS{Value: "web"},
		"n":       &ddbtypes.AttributeValueMemberN{Value: "-12.5e3"},
		"b":       &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}},
		"t":       &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"null":    &ddbtypes.AttributeValueMemberNULL{Value: true},
		"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"inner": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: "x"}, &ddbtypes.AttributeValueMemberN{Value: "1"}}},
			"empty": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{}},
		}},
		"ss": &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns": &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
	}
	if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(testTable), Item: item}); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"service": &ddbtypes.AttributeValueMemberS{Value: "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(item, out.Item, cmpopts.IgnoreTypes(document.NoSerde{})); diff != "" {
		t.Errorf("round trip (-put +got):\n%s", diff)
	}
}

func TestDynamoDBConditionalPut(t *testing.T) {
	fake, client := newDynamoDBClient(t)
	put := func(version string, cond string, names map[string]string, values map[string]ddbtypes.AttributeValue) error {
		_, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{
			TableName: aws.String(testTable),
			Item: map[string]ddbtypes.AttributeValue{
				"service": &ddbtypes.AttributeValueMemberS{Value: "web"},
				"version": &ddbtypes.AttributeValueMemberN{Value: version},
				"owner":   &ddbtypes.AttributeValueMemberS{Value: "host-" + version},
			},
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	}
	keyName := map[string]string{"#k": "service"}
	if err := put("1", "attribute_not_exists(#k)", keyName, nil); err != nil {
		t.Fatalf("create: %v", err)
	}
	err := put("1", "attribute_not_exists(#k)", keyName, nil)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second create: err = %v, want ConditionalCheckFailedException", err)
	}
	if owner, ok := ccf.Item["owner"].(*ddbtypes.AttributeValueMemberS); !ok || owner.Value != "host-1" {
		t.Errorf("ConditionalCheckFailedException.Item = %v, want the stored item (ALL_OLD)", ccf.Item)
	}
	v := func(n string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: n}}
	}
	if err := put("2", "#v = :v", map[string]string{"#v": "version"}, v("1.0")); err != nil {
		t.Fatalf("CAS 1→2: %v", err)
	}
	if err := put("3", "#v = :v", map[string]string{"#v": "version"}, v("1")); apiCode(err) != "ConditionalCheckFailedException" {
		t.Fatalf("stale CAS: err = %v, want ConditionalCheckFailedException", err)
	}
	got, _ := fake.Item(testTable, Item{"service": S("web")})
	if diff := cmp.Diff("2", *got["version"].N); diff != "" {
		t.Errorf("stored version (-want +got):\n%s", diff)
	}
}

// TestDynamoDBConditionalRace checks that a conditional write is a true
// compare-and-swap: of many writers racing from the same version, exactly
// one wins.
func TestDynamoDBConditionalRace(t *testing.T) {
	_, client := newDynamoDBClient(t)
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = client.PutItem(t.Context(), &dynamodb.PutItemInput{
				TableName:                aws.String(testTable),
				Item:                     map[string]ddbtypes.AttributeValue{"service": &ddbtypes.AttributeValueMemberS{Value: "web"}, "w": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(i)}},
				ConditionExpression:      aws.String("attribute_not_exists(#k)"),
				ExpressionAttributeNames: map[string]string{"#k": "service"},
			})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case apiCode(err) != "ConditionalCheckFailedException":
			t.Errorf("loser's error = %v, want ConditionalCheckFailedException", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d writers won, want exactly 1", wins)
	}
}

func TestDynamoDBValidation(t *testing.T) {
	_, client := newDynamoDBClient(t)
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	tests := []struct {
		name    string
		in      *dynamodb.PutItemInput
		wantMsg string
	}{
		{"unused value", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"service": s("a")},
			ConditionExpression: aws.String("attribute_not_exists(service)"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":x": s("x")}},
			"unused in expressions"},
		{"undefined name", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"service": s("a")},
			ConditionExpression: aws.String("attribute_not_exists(#k)")}, "not defined"},
		{"syntax error", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"service": s("a")},
			ConditionExpression: aws.String("service = = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("x")}}, "Syntax error"},
		{"missing key", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"other": s("a")}}, "Missing the key service"},
		{"key type", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"service": &ddbtypes.AttributeValueMemberN{Value: "1"}}}, "Type mismatch"},
		{"bad number", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"service": s("a"), "n": &ddbtypes.AttributeValueMemberN{Value: "one"}}}, "numeric"},
		{"too large", &dynamodb.PutItemInput{Item: map[string]ddbtypes.AttributeValue{"service": s("a"), "body": s(strings.Repeat("x", 401<<10))}}, "maximum allowed size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.TableName = aws.String(testTable)
			_, err := client.PutItem(t.Context(), tt.in)
			if code := apiCode(err); code != "ValidationException" || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want a ValidationException containing %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDynamoDBFaultsAndRequestLog(t *testing.T) {
	fake, client := newDynamoDBClient(t)
	fake.Faults.Add(Rule{Op: "GetItem", Fault: Fault{Status: 400, Code: "ProvisionedThroughputExceededException", Message: "slow down"}, Times: 2})
	_, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(testTable), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"service": &ddbtypes.AttributeValueMemberS{Value: "web"}}})
	if err != nil {
		t.Fatalf("GetItem after two throttles: %v", err)
	}
	if got := fake.Faults.Calls()["GetItem"]; got != 3 {
		t.Errorf("GetItem calls = %d, want 3", got)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("logged %d requests, want 1 (faulted calls are not served)", len(reqs))
	}
	var body struct{ ConsistentRead bool }
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil || !body.ConsistentRead {
		t.Errorf("logged request %s: ConsistentRead not true (err %v)", reqs[0].Body, err)
	}
}

func ExampleDynamoDB() {
	fake := NewDynamoDB()
	fake.AddTable("state", KeyAttribute{Name: "service", Type: "S"})
	// The first PutItem is throttled; the SDK's retryer sends it again.
	fake.Faults.Add(Rule{Op: "PutItem", Fault: Throttling(), Times: 1})
	url, closeServer := Serve(fake)
	defer closeServer()

	client := dynamodb.NewFromConfig(Config(url))
	_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName:                aws.String("state"),
		Item:                     map[string]ddbtypes.AttributeValue{"service": &ddbtypes.AttributeValueMemberS{Value: "web"}},
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": "service"},
	})
	item, _ := fake.Item("state", Item{"service": S("web")})
	fmt.Println(err, fake.Faults.Calls()["PutItem"], item)
	// Output: <nil> 2 map[service:{"S":"web"}]
}
