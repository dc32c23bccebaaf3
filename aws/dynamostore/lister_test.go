package dynamostore_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

// TestUnfinishedPaginates lists the unfinished services among many, with
// pages small enough that every shard of the index takes several: each
// unfinished service once, nothing else, and only Query calls (no Scan).
// Finishing a deployment takes it off the list.
func TestUnfinishedPaginates(t *testing.T) {
	s, fake := newStore(t, "")
	fake.PageBytes = 200 // a few keys a page
	var want []string
	versions := map[string]int64{}
	for i := range 120 {
		svc := fmt.Sprintf("svc-%03d", i)
		unfinished := i%3 != 0
		v, err := s.Save(t.Context(), driver.Record{Service: svc, Unfinished: unfinished})
		if err != nil {
			t.Fatal(err)
		}
		versions[svc] = v
		if unfinished {
			want = append(want, svc)
		}
	}
	before := fake.Faults.Calls()
	got, err := names(s.Unfinished(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Unfinished (-want +got):\n%s", diff)
	}
	calls := fake.Faults.Calls()
	if n := calls["Query"] - before["Query"]; n <= 8 {
		t.Errorf("%d Query calls for 80 services in pages of a few: want more than one per shard (8)", n)
	}
	if calls["Scan"] != 0 || calls["GetItem"] != before["GetItem"] {
		t.Errorf("calls besides Query: %v", calls)
	}
	// The queries are on the index, never consistent, and fetch the key alone.
	for _, r := range fake.Requests() {
		if r.Op == "Query" && (!strings.Contains(string(r.Body), `"IndexName":"unfinished"`) || strings.Contains(string(r.Body), "ConsistentRead")) {
			t.Errorf("query %s", r.Body)
		}
	}

	if _, err := s.Save(t.Context(), driver.Record{Service: "svc-001", Version: versions["svc-001"]}); err != nil {
		t.Fatal(err)
	}
	got, err = names(s.Unfinished(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, "svc-001") || len(got) != len(want)-1 {
		t.Errorf("after svc-001 finished: %d listed (svc-001 %v), want %d without it", len(got), slices.Contains(got, "svc-001"), len(want)-1)
	}
}

// TestUnfinishedOldItems: an unfinished item written before the index
// attribute existed is not listed; once saved again it is.
func TestUnfinishedOldItems(t *testing.T) {
	s, fake := newStore(t, "")
	if err := fake.SetItem(table, awsfake.Item{"service": awsfake.S("web"), "version": awsfake.N("3"), "format": awsfake.N("2"),
		"body": awsfake.S(`{"format":1}`), "unfinished": awsfake.S("web")}); err != nil {
		t.Fatal(err)
	}
	got, err := names(s.Unfinished(t.Context()))
	if err != nil || len(got) != 0 {
		t.Fatalf("Unfinished with an item of before the index = %v, %v; want nothing", got, err)
	}
	rec, err := s.Load(t.Context(), "web")
	if err != nil || !rec.Unfinished {
		t.Fatalf("Load = %+v, %v", rec, err)
	}
	if _, err := s.Save(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if got, err := names(s.Unfinished(t.Context())); err != nil || !slices.Equal(got, []string{"web"}) {
		t.Errorf("Unfinished after it was saved again = %v, %v; want [web]", got, err)
	}
}

// TestUnfinishedWithoutIndex: a table made without the index serves Load
// and Save, and Unfinished says what is missing and how to add it.
func TestUnfinishedWithoutIndex(t *testing.T) {
	fake := awsfake.NewDynamoDB()
	fake.AddTable(table, awsfake.KeyAttribute{Name: "service", Type: "S"})
	s, err := dynamostore.New(dynamostore.Options{Client: dynamodb.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake))), Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(t.Context(), driver.Record{Service: "web", Unfinished: true}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Unfinished(t.Context())
	if !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Fatalf("Unfinished without the index: %v, want CodeFailedPrecondition", err)
	}
	for _, want := range []string{"table bluegreen-state has no usable global secondary index unfinished", "UpdateTable", "Options.UnfinishedIndex",
		"The table does not have the specified index"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestUnfinishedErrors(t *testing.T) {
	tests := []struct {
		name     string
		noTable  bool
		fault    awsfake.Fault
		wantCode bluegreen.Code
		wantText string
	}{
		{name: "throttled", fault: awsfake.Throttling(), wantCode: bluegreen.CodeThrottled},
		{name: "access denied", fault: awsfake.Fault{Status: 400, Code: "AccessDeniedException", Message: "no dynamodb:Query on index"}, wantCode: bluegreen.CodePermission},
		{name: "missing table", noTable: true, wantCode: bluegreen.CodeNotFound, wantText: "table bluegreen-state not found: create it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewDynamoDB()
			client := dynamodb.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
			s, err := dynamostore.New(dynamostore.Options{Client: client, Table: table})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.noTable {
				if _, err := client.CreateTable(t.Context(), s.CreateTableInput()); err != nil {
					t.Fatal(err)
				}
				fake.Faults.Add(awsfake.Rule{Op: "Query", Fault: tt.fault})
			}
			_, err = s.Unfinished(t.Context())
			if got := bluegreen.ErrorCode(err); got != tt.wantCode || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Unfinished: %v (code %v), want code %v saying %q", err, got, tt.wantCode, tt.wantText)
			}
		})
	}
}

// TestCreateTableInputIndex: the index CreateTableInput describes follows
// the options, and a table made from it lists unfinished services.
func TestCreateTableInputIndex(t *testing.T) {
	fake := awsfake.NewDynamoDB()
	client := dynamodb.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
	s, err := dynamostore.New(dynamostore.Options{Client: client, Table: table, KeyAttribute: "pk", UnfinishedIndex: "fleet-orphans"})
	if err != nil {
		t.Fatal(err)
	}
	in := s.CreateTableInput()
	if len(in.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("indexes: %+v", in.GlobalSecondaryIndexes)
	}
	gsi := in.GlobalSecondaryIndexes[0]
	type key struct{ Name, Type string }
	var got []key
	for _, k := range gsi.KeySchema {
		got = append(got, key{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	if diff := cmp.Diff([]key{{"unfinishedShard", "HASH"}, {"pk", "RANGE"}}, got); diff != "" || aws.ToString(gsi.IndexName) != "fleet-orphans" ||
		gsi.Projection.ProjectionType != "INCLUDE" || !slices.Equal(gsi.Projection.NonKeyAttributes, []string{"leaseOwner", "leaseHeartbeat"}) {
		t.Errorf("index %s, projection %s, key schema (-want +got):\n%s", aws.ToString(gsi.IndexName), gsi.Projection.ProjectionType, diff)
	}
	if _, err := client.CreateTable(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"web", "api", "batch"} {
		if _, err := s.Save(t.Context(), driver.Record{Service: svc, Unfinished: svc != "api"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := names(s.Unfinished(t.Context())); err != nil || !slices.Equal(got, []string{"batch", "web"}) {
		t.Errorf("Unfinished = %v, %v; want [batch web]", got, err)
	}
}

// names returns the services of a listing.
func names(listed []driver.Listed, err error) ([]string, error) {
	var out []string
	for _, l := range listed {
		out = append(out, l.Service)
	}
	return out, err
}

// TestUnfinishedListsOwners: with CreateTableInput's index, each listed
// service comes with its lease's owner and heartbeat flag (not its expiry,
// which the index does not hold); with a keys-only index (the layout of
// earlier versions) with its name alone, and Deployer.Run loads the record.
func TestUnfinishedListsOwners(t *testing.T) {
	for _, tt := range []struct {
		name     string
		keysOnly bool
		want     []driver.Listed
	}{
		{"owner and heartbeat projected", false, []driver.Listed{
			{Service: "api", Lease: driver.Lease{Owner: "replica-1", Heartbeat: true}},
			{Service: "batch"},
			{Service: "web", Lease: driver.Lease{Owner: "replica-2"}},
		}},
		{"keys only", true, []driver.Listed{{Service: "api"}, {Service: "batch"}, {Service: "web"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewDynamoDB()
			client := dynamodb.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
			s, err := dynamostore.New(dynamostore.Options{Client: client, Table: table})
			if err != nil {
				t.Fatal(err)
			}
			in := s.CreateTableInput()
			if tt.keysOnly {
				in.GlobalSecondaryIndexes[0].Projection = &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeKeysOnly}
			}
			if _, err := client.CreateTable(t.Context(), in); err != nil {
				t.Fatal(err)
			}
			expires := time.UnixMilli(1_800_000_000_000)
			for _, rec := range []driver.Record{
				{Service: "api", Unfinished: true, Lease: driver.Lease{Owner: "replica-1", Expires: expires, Heartbeat: true}},
				{Service: "batch", Unfinished: true},
				{Service: "web", Unfinished: true, Lease: driver.Lease{Owner: "replica-2", Expires: expires}},
				{Service: "done", Lease: driver.Lease{Owner: "replica-1", Expires: expires, Heartbeat: true}},
			} {
				if _, err := s.Save(t.Context(), rec); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Unfinished(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Unfinished (-want +got):\n%s", diff)
			}
		})
	}
}
