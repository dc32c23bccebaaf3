package dynamostore

import (
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeItem feeds decodeItem items whose attributes come from outside
// (a table anyone with access can write): it must never panic, and a record
// it accepts must encode and decode back to itself.
func FuzzDecodeItem(f *testing.F) {
	good, err := encodeItem("service", bluegreentest.FullRecord("web"))
	if err != nil {
		f.Fatal(err)
	}
	body := good[attrBody].(*ddbtypes.AttributeValueMemberS).Value
	f.Add("1", "1", body)
	f.Add("0", "1", body)
	f.Add("1", "2", body)
	f.Add("1", "1", `{"service":"web","deployment":{"stage":"NOT_A_STAGE"}}`)
	f.Add("1", "1", `{"service":"api"}`)
	f.Add("9223372036854775807", "1", `{"service":"web","live":{"slot":"A","revision":{"name":"x","spec":[1,2]}}}`)
	f.Fuzz(func(t *testing.T, version, format, body string) {
		item := map[string]ddbtypes.AttributeValue{
			"service":   &ddbtypes.AttributeValueMemberS{Value: "web"},
			attrVersion: &ddbtypes.AttributeValueMemberN{Value: version},
			attrFormat:  &ddbtypes.AttributeValueMemberN{Value: format},
			attrBody:    &ddbtypes.AttributeValueMemberS{Value: body},
		}
		rec, err := decodeItem(item, "web")
		if err != nil {
			return
		}
		again := rec
		again.Version--
		enc, err := encodeItem("service", again)
		if err != nil {
			return // too large, or not encodable: refused on the way in
		}
		back, err := decodeItem(enc, "web")
		if err != nil {
			t.Fatalf("a record read back from its own encoding fails: %v", err)
		}
		if diff := cmp.Diff(rec, back); diff != "" {
			t.Fatalf("round trip changed the record (-first +second):\n%s", diff)
		}
	})
}
