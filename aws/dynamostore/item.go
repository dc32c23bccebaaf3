package dynamostore

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
)

// encodeItem returns the item that stores rec at version rec.Version+1.
// The body attribute is the Deployer's state document, verbatim; the lease
// and the unfinished flag are attributes of their own, so conditions and
// indexes can read them.
func encodeItem(keyAttr string, rec driver.Record) (map[string]ddbtypes.AttributeValue, error) {
	version := rec.Version + 1
	if len(rec.State) > maxBody {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("dynamostore: service %s: the state is %d bytes of JSON; a DynamoDB item holds 400 KB: keep revision specs and prepared state small",
			rec.Service, len(rec.State)))
	}
	if len(rec.State) > 0 && !json.Valid(rec.State) {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("dynamostore: service %s: the state is not JSON", rec.Service))
	}
	item := map[string]ddbtypes.AttributeValue{
		keyAttr:     &ddbtypes.AttributeValueMemberS{Value: rec.Service},
		attrVersion: number(version),
		attrFormat:  number(format),
	}
	if len(rec.State) > 0 {
		item[attrBody] = &ddbtypes.AttributeValueMemberS{Value: string(rec.State)}
	}
	if rec.Lease.Owner != "" {
		item[attrLeaseOwner] = &ddbtypes.AttributeValueMemberS{Value: rec.Lease.Owner}
	}
	if !rec.Lease.Expires.IsZero() {
		item[attrLeaseExpires] = number(rec.Lease.Expires.UnixMilli())
	}
	if rec.Lease.Heartbeat {
		item[attrLeaseHeartbeat] = &ddbtypes.AttributeValueMemberBOOL{Value: true}
	}
	if rec.Unfinished {
		// Present only while unfinished, so the index on them is sparse.
		item[attrUnfinished] = &ddbtypes.AttributeValueMemberS{Value: rec.Service}
		item[attrShard] = &ddbtypes.AttributeValueMemberS{Value: shardOf(rec.Service)}
	}
	return item, nil
}

// shardOf returns the partition of the unfinished index that service's
// item goes to: a hash of the name, modulo shards, in decimal.
func shardOf(service string) string {
	h := fnv.New32a()
	h.Write([]byte(service))
	return strconv.Itoa(int(h.Sum32() % shards))
}

// decodeItem reads the record of service from its item, or says what is
// wrong with the item. Items of format 1 (whole bluegreen records in the
// body) are read too.
func decodeItem(item map[string]ddbtypes.AttributeValue, service string) (driver.Record, error) {
	v, ok := item[attrVersion].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return driver.Record{}, fmt.Errorf("attribute %q is missing or not a number", attrVersion)
	}
	version, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil || version < 1 {
		return driver.Record{}, fmt.Errorf("attribute %q is %q, not a positive integer", attrVersion, v.Value)
	}
	f, ok := item[attrFormat].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return driver.Record{}, fmt.Errorf("attribute %q is missing or not a number", attrFormat)
	}
	var body string
	if b, ok := item[attrBody]; ok {
		s, ok := b.(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return driver.Record{}, fmt.Errorf("attribute %q is not a string", attrBody)
		}
		body = s.Value
	}
	var rec driver.Record
	switch f.Value {
	case strconv.Itoa(format):
		rec = driver.Record{Service: service}
		if body != "" {
			if !json.Valid([]byte(body)) {
				return driver.Record{}, fmt.Errorf("attribute %q is not JSON", attrBody)
			}
			rec.State = json.RawMessage(body)
		}
		if owner, ok := item[attrLeaseOwner].(*ddbtypes.AttributeValueMemberS); ok {
			rec.Lease.Owner = owner.Value
		}
		if exp, ok := item[attrLeaseExpires].(*ddbtypes.AttributeValueMemberN); ok {
			ms, err := strconv.ParseInt(exp.Value, 10, 64)
			if err != nil {
				return driver.Record{}, fmt.Errorf("attribute %q is %q, not milliseconds", attrLeaseExpires, exp.Value)
			}
			rec.Lease.Expires = time.UnixMilli(ms).UTC()
		}
		if hb, ok := item[attrLeaseHeartbeat]; ok {
			b, ok := hb.(*ddbtypes.AttributeValueMemberBOOL)
			if !ok {
				return driver.Record{}, fmt.Errorf("attribute %q is not a boolean", attrLeaseHeartbeat)
			}
			rec.Lease.Heartbeat = b.Value
		}
		_, rec.Unfinished = item[attrUnfinished]
	case "1":
		if rec, err = fromFormat1(body); err != nil {
			return driver.Record{}, err
		}
		if rec.Service != service {
			return driver.Record{}, fmt.Errorf("attribute %q holds the record of service %q", attrBody, rec.Service)
		}
	default:
		return driver.Record{}, fmt.Errorf("attribute %q is %s; this version of dynamostore reads formats 1 and %d (a newer one may have written it)",
			attrFormat, f.Value, format)
	}
	rec.Version = version
	return rec, nil
}

// fromFormat1 reads a format-1 body: a whole record, whose live environment
// and deployment become the Deployer's state document (its format 1 has the
// same field names).
func fromFormat1(body string) (driver.Record, error) {
	var v1 struct {
		Service    string          `json:"service"`
		Lease      driver.Lease    `json:"lease"`
		Live       json.RawMessage `json:"live"`
		Deployment json.RawMessage `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(body), &v1); err != nil {
		return driver.Record{}, fmt.Errorf("attribute %q is not a JSON record: %v", attrBody, err)
	}
	rec := driver.Record{Service: v1.Service, Lease: v1.Lease}
	if len(v1.Live) == 0 && len(v1.Deployment) == 0 {
		return rec, nil
	}
	var phase struct {
		Phase string `json:"phase"`
	}
	if len(v1.Deployment) > 0 && json.Unmarshal(v1.Deployment, &phase) != nil {
		return driver.Record{}, fmt.Errorf("attribute %q: its deployment is not an object", attrBody)
	}
	rec.Unfinished = phase.Phase == "RUNNING" || phase.Phase == "ROLLING_BACK"
	state := map[string]json.RawMessage{"format": json.RawMessage("1")}
	if len(v1.Live) > 0 {
		state["live"] = v1.Live
	}
	if len(v1.Deployment) > 0 {
		state["deployment"] = v1.Deployment
	}
	b, err := json.Marshal(state)
	if err != nil {
		return driver.Record{}, err
	}
	rec.State = b
	return rec, nil
}
