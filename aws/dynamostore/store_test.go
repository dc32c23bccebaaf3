package dynamostore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/driver"
	"github.com/google/go-cmp/cmp"
)

const table = "bluegreen-state"

// newStore returns a store on a fresh fake table keyed by keyAttr ("" for the default).
// The table, with its index, is made by CreateTable from the store's
// CreateTableInput, as a user would.
func newStore(t *testing.T, keyAttr string) (*dynamostore.Store, *awsfake.DynamoDB) {
	t.Helper()
	fake := awsfake.NewDynamoDB()
	client := dynamodb.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake)))
	s, err := dynamostore.New(dynamostore.Options{
		Client:       client,
		Table:        table,
		KeyAttribute: keyAttr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateTable(t.Context(), s.CreateTableInput()); err != nil {
		t.Fatal(err)
	}
	return s, fake
}

func TestConformance(t *testing.T) {
	bluegreentest.TestStore(t, func(t *testing.T) bluegreen.Store {
		s, _ := newStore(t, "")
		return s
	})
}

func TestConformanceCustomKey(t *testing.T) {
	bluegreentest.TestStore(t, func(t *testing.T) bluegreen.Store {
		s, _ := newStore(t, "pk")
		return s
	})
}

func TestItemLayout(t *testing.T) {
	s, fake := newStore(t, "")
	state := `{"format":1,"note":"<kept verbatim>"}`
	rec := driver.Record{Service: "web", Unfinished: true, State: json.RawMessage(state),
		Lease: driver.Lease{Owner: "host-1/pid-42", Expires: time.UnixMilli(1_700_000_000_123).Add(456 * time.Microsecond), Heartbeat: true}}
	if _, err := s.Save(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	item, ok := fake.Item(table, awsfake.Item{"service": awsfake.S("web")})
	if !ok {
		t.Fatal("no item stored")
	}
	want := awsfake.Item{
		"service":        awsfake.S("web"),
		"version":        awsfake.N("1"),
		"format":         awsfake.N("2"),
		"body":           awsfake.S(state),
		"leaseOwner":     awsfake.S("host-1/pid-42"),
		"leaseExpires":   awsfake.N("1700000000123"),
		"leaseHeartbeat": awsfake.Bool(true),
		"unfinished":     awsfake.S("web"),
		// fnv32a("web") % 8: the partition of the unfinished index.
		"unfinishedShard": awsfake.S("1"),
	}
	if diff := cmp.Diff(want, item); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}

	// A record without a lease or state drops those attributes, and the
	// unfinished flag goes (the index on it is sparse).
	if _, err := s.Save(t.Context(), driver.Record{Service: "web", Version: 1}); err != nil {
		t.Fatal(err)
	}
	item, _ = fake.Item(table, awsfake.Item{"service": awsfake.S("web")})
	for _, attr := range []string{"leaseOwner", "leaseExpires", "leaseHeartbeat", "body", "unfinished", "unfinishedShard"} {
		if _, ok := item[attr]; ok {
			t.Errorf("%s kept after it was cleared: %v", attr, item)
		}
	}
}

// TestReadsFormat1: an item written before the Deployer's state became
// opaque to stores is read, its live environment and deployment becoming
// the state document, and it can be updated.
func TestReadsFormat1(t *testing.T) {
	s, fake := newStore(t, "")
	body := `{"service":"web","lease":{"owner":"h/1"},"live":{"service":"web","slot":"A","revision":{"name":"web:1"},"deploymentId":"d1"},` +
		`"deployment":{"id":"d1","phase":"SUCCEEDED","stage":"CLEAN_UP","green":{"service":"web","slot":"A","revision":{"name":"web:1"},"deploymentId":"d1"},"routes":{"production":{"a":1000,"b":0},"test":"A"},"started":"2025-03-01T12:00:00Z","updated":"2025-03-01T12:00:30Z"}}`
	if err := fake.SetItem(table, awsfake.Item{"service": awsfake.S("web"), "version": awsfake.N("4"), "format": awsfake.N("1"), "body": awsfake.S(body)}); err != nil {
		t.Fatal(err)
	}
	st, err := bluegreen.ReadState(t.Context(), s, "web")
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 4 || st.LeaseOwner != "h/1" || st.Live == nil || st.Live.Revision.Name != "web:1" || st.Deployment == nil || st.Deployment.Outcome != bluegreen.OutcomeSucceeded {
		t.Errorf("state of a format-1 item = %+v", st)
	}
	rec, err := s.Load(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(t.Context(), rec); err != nil {
		t.Errorf("update of a format-1 item: %v", err)
	}
}

func TestCallsAndConsistentRead(t *testing.T) {
	s, fake := newStore(t, "")
	v, err := s.Save(t.Context(), driver.Record{Service: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"CreateTable": 1, "PutItem": 1, "GetItem": 1}, fake.Faults.Calls()); diff != "" || v != 1 {
		t.Errorf("calls for one Save and one Load (-want +got):\n%s", diff)
	}
	var get struct{ ConsistentRead bool }
	for _, r := range fake.Requests() {
		if r.Op == "GetItem" {
			if err := json.Unmarshal(r.Body, &get); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !get.ConsistentRead {
		t.Error("Load did not ask for a consistent read")
	}
}

// TestRace has two writers race from the same version: exactly one wins,
// the other gets a conflict naming the winner's lease.
func TestRace(t *testing.T) {
	for _, from := range []int64{0, 3} {
		s, _ := newStore(t, "")
		for v := range from {
			if _, err := s.Save(t.Context(), driver.Record{Service: "web", Version: v}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		for i, owner := range []string{"host-a", "host-b"} {
			wg.Go(func() {
				_, errs[i] = s.Save(t.Context(), driver.Record{Service: "web", Version: from, Lease: driver.Lease{Owner: owner, Expires: expires}})
			})
		}
		wg.Wait()
		var wins int
		var loser error
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				loser = err
			}
		}
		if wins != 1 {
			t.Fatalf("from version %d: %d writers won (%v), want exactly 1", from, wins, errs)
		}
		rec, err := s.Load(t.Context(), "web")
		if err != nil {
			t.Fatal(err)
		}
		want := "leased by " + rec.Lease.Owner + " until 2030-01-02T03:04:05Z, not version"
		if !errors.Is(loser, bluegreen.ErrConflict) || !strings.Contains(loser.Error(), want) {
			t.Errorf("from version %d: loser's error = %v; want a conflict containing %q", from, loser, want)
		}
		if rec.Version != from+1 {
			t.Errorf("from version %d: stored version %d, want %d", from, rec.Version, from+1)
		}
	}
}

func TestConflictMessages(t *testing.T) {
	s, _ := newStore(t, "")
	_, err := s.Save(t.Context(), driver.Record{Service: "web", Version: 4})
	if !errors.Is(err, bluegreen.ErrConflict) || !strings.Contains(err.Error(), "no record is stored, not version 4") {
		t.Errorf("Save at version 4 of nothing: err = %v", err)
	}
	if _, err := s.Save(t.Context(), driver.Record{Service: "web"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Save(t.Context(), driver.Record{Service: "web"})
	if !errors.Is(err, bluegreen.ErrConflict) || !strings.Contains(err.Error(), "the stored record is at version 1, not version 0") {
		t.Errorf("second create: err = %v", err)
	}
}

func TestCorruptItems(t *testing.T) {
	valid := func() awsfake.Item {
		return awsfake.Item{"service": awsfake.S("web"), "version": awsfake.N("3"), "format": awsfake.N("1"), "body": awsfake.S(`{"service":"web"}`)}
	}
	tests := []struct {
		name   string
		change func(awsfake.Item)
		want   string
	}{
		{"body not JSON", func(it awsfake.Item) { it["body"] = awsfake.S("{not json") }, `attribute "body" is not a JSON record`},
		{"format 1 body missing", func(it awsfake.Item) { delete(it, "body") }, `attribute "body" is not a JSON record`},
		{"body a number", func(it awsfake.Item) { it["body"] = awsfake.N("1") }, `attribute "body" is not a string`},
		{"body of another service", func(it awsfake.Item) { it["body"] = awsfake.S(`{"service":"api"}`) }, `holds the record of service "api"`},
		{"format 1 deployment not an object", func(it awsfake.Item) {
			it["body"] = awsfake.S(`{"service":"web","deployment":[1]}`)
		}, `its deployment is not an object`},
		{"format 2 body not JSON", func(it awsfake.Item) { it["format"], it["body"] = awsfake.N("2"), awsfake.S("{") }, `attribute "body" is not JSON`},
		{"version missing", func(it awsfake.Item) { delete(it, "version") }, `attribute "version" is missing or not a number`},
		{"version a string", func(it awsfake.Item) { it["version"] = awsfake.S("3") }, `attribute "version" is missing or not a number`},
		{"version fractional", func(it awsfake.Item) { it["version"] = awsfake.N("3.5") }, `attribute "version" is "3.5"`},
		{"version zero", func(it awsfake.Item) { it["version"] = awsfake.N("0") }, `not a positive integer`},
		{"newer format", func(it awsfake.Item) { it["format"] = awsfake.N("3") }, "reads formats 1 and 2"},
		{"format missing", func(it awsfake.Item) { delete(it, "format") }, `attribute "format" is missing`},
		{"lease heartbeat a string", func(it awsfake.Item) { it["format"], it["leaseHeartbeat"] = awsfake.N("2"), awsfake.S("true") }, `attribute "leaseHeartbeat" is not a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, fake := newStore(t, "")
			item := valid()
			tt.change(item)
			if err := fake.SetItem(table, item); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load(t.Context(), "web")
			switch {
			case !errors.Is(err, dynamostore.ErrCorrupt), !errors.Is(err, bluegreen.ErrFailedPrecondition):
				t.Fatalf("Load: err = %v; want ErrCorrupt with CodeFailedPrecondition", err)
			case !strings.Contains(err.Error(), tt.want), !strings.Contains(err.Error(), `service="web" in table `+table):
				t.Errorf("Load: err = %q; want it to name the item and say %q", err, tt.want)
			}
			// Nothing overwrites it: not a create, not a blind guess of a version.
			for _, v := range []int64{0, 1, 2} {
				if _, err := s.Save(t.Context(), driver.Record{Service: "web", Version: v}); !errors.Is(err, bluegreen.ErrConflict) {
					t.Errorf("Save at version %d over a corrupt item: err = %v, want a conflict", v, err)
				}
			}
			got, _ := fake.Item(table, awsfake.Item{"service": awsfake.S("web")})
			if diff := cmp.Diff(item, got); diff != "" {
				t.Errorf("the corrupt item changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		rule      *awsfake.Rule
		noTable   bool
		wantCode  bluegreen.Code
		wantText  string
		wantCalls int
	}{
		{name: "missing table", noTable: true, wantCode: bluegreen.CodeNotFound, wantText: "table bluegreen-state not found: create it", wantCalls: 1},
		{name: "throttled", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 400, Code: "ProvisionedThroughputExceededException", Message: "slow down"}},
			wantCode: bluegreen.CodeThrottled, wantCalls: 3},
		{name: "5xx", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 500, Code: "InternalServerError", Message: "oops"}},
			wantCode: bluegreen.CodeTransient, wantCalls: 3},
		{name: "access denied", rule: &awsfake.Rule{Fault: awsfake.Fault{Status: 400, Code: "AccessDeniedException", Message: "not authorized"}},
			wantCode: bluegreen.CodePermission, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsfake.NewDynamoDB()
			if !tt.noTable {
				fake.AddTable(table, awsfake.KeyAttribute{Name: "service", Type: "S"})
			}
			if tt.rule != nil {
				fake.Faults.Add(*tt.rule)
			}
			s, err := dynamostore.New(dynamostore.Options{Client: dynamodb.NewFromConfig(awsfake.Config(awsfake.ServeTest(t, fake))), Table: table})
			if err != nil {
				t.Fatal(err)
			}
			_, loadErr := s.Load(t.Context(), "web")
			_, saveErr := s.Save(t.Context(), driver.Record{Service: "web"})
			for op, err := range map[string]error{"GetItem": loadErr, "PutItem": saveErr} {
				if got := bluegreen.ErrorCode(err); got != tt.wantCode {
					t.Errorf("%s: ErrorCode(%v) = %v, want %v", op, err, got, tt.wantCode)
				}
				if got := s.ErrorCode(errors.Unwrap(err)); got != tt.wantCode {
					t.Errorf("%s: Store.ErrorCode of the raw error = %v, want %v", op, got, tt.wantCode)
				}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("%s: error %q does not say %q", op, err, tt.wantText)
				}
				if got := fake.Faults.Calls()[op]; got != tt.wantCalls {
					t.Errorf("%s calls = %d, want %d (the SDK retries; the store adds no loop)", op, got, tt.wantCalls)
				}
			}
		})
	}
}

func TestRetriedByTheSDK(t *testing.T) {
	s, fake := newStore(t, "")
	fake.Faults.Add(awsfake.Rule{Op: "PutItem", Fault: awsfake.Throttling(), Times: 2})
	v, err := s.Save(t.Context(), driver.Record{Service: "web"})
	if err != nil || v != 1 {
		t.Fatalf("Save after two throttles = %d, %v; want 1, nil", v, err)
	}
	if got := fake.Faults.Calls()["PutItem"]; got != 3 {
		t.Errorf("PutItem calls = %d, want 3", got)
	}
}

func TestBadInput(t *testing.T) {
	s, fake := newStore(t, "")
	tests := []struct {
		name string
		rec  driver.Record
		want string
	}{
		{"no service", driver.Record{}, "record has no service"},
		{"negative version", driver.Record{Service: "web", Version: -1}, "negative version"},
		{"too large", driver.Record{Service: "web", State: json.RawMessage(`"` + strings.Repeat("x", 400<<10) + `"`)}, "a DynamoDB item holds 400 KB"},
		{"state not JSON", driver.Record{Service: "web", State: json.RawMessage(`{"a":`)}, "not JSON"},
	}
	for _, tt := range tests {
		_, err := s.Save(t.Context(), tt.rec)
		if !errors.Is(err, bluegreen.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Save err = %v, want CodeInvalid saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := s.Load(t.Context(), ""); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("Load of an empty service name: err = %v, want CodeInvalid", err)
	}
	if calls := fake.Faults.Calls(); len(calls) != 1 { // CreateTable
		t.Errorf("bad input reached DynamoDB: %v", calls)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	client := dynamodb.New(dynamodb.Options{})
	for field, o := range map[string]dynamostore.Options{
		"Client":          {Table: "t"},
		"Table":           {Client: client, Table: " "},
		"KeyAttribute":    {Client: client, Table: "t", KeyAttribute: "version"},
		"UnfinishedIndex": {Client: client, Table: "t", UnfinishedIndex: "in flight"},
	} {
		_, err := dynamostore.New(o)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != "dynamostore.Options."+field {
			t.Errorf("New with a bad %s: err = %v, want a ConfigError naming the field", field, err)
		}
	}
}

// TestCounter increments a counter in the record from several goroutines by
// compare-and-swap over the wire: no update may be lost.
func TestCounter(t *testing.T) {
	const workers, each = 4, 10
	s, fake := newStore(t, "")
	rec := driver.Record{Service: "web", State: json.RawMessage(`{"counter":0}`)}
	if _, err := s.Save(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for done, tries := 0, 0; done < each && tries < 50*each; tries++ {
				rec, err := s.Load(t.Context(), "web")
				if err != nil {
					t.Error(err)
					return
				}
				var c struct{ Counter int }
				if err := json.Unmarshal(rec.State, &c); err != nil {
					t.Error(err)
					return
				}
				rec.State = json.RawMessage(fmt.Sprintf(`{"counter":%d}`, c.Counter+1))
				if _, err := s.Save(t.Context(), rec); err == nil {
					done++
				} else if !errors.Is(err, bluegreen.ErrConflict) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rec, err := s.Load(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Counter int }
	if err := json.Unmarshal(rec.State, &c); err != nil || c.Counter != workers*each || rec.Version != workers*each+1 {
		t.Errorf("counter = %s at version %d, want %d at version %d", rec.State, rec.Version, workers*each, workers*each+1)
	}
	t.Logf("calls: %v", fake.Faults.Calls())
}
