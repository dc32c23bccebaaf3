package dynamostore

import (
	"encoding/json"
	"fmt"
	"strconv"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/bluegreen-go/bluegreen"
)

// encodeItem returns the item that stores rec at version rec.Version+1.
func encodeItem(keyAttr string, rec bluegreen.Record) (map[string]ddbtypes.AttributeValue, error) {
	version := rec.Version + 1
	rec.Version = 0 // the version attribute is the only copy
	body, err := json.Marshal(rec)
	if err != nil {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("dynamostore: service %s: encode record: %w", rec.Service, err))
	}
	if len(body) > maxBody {
		return nil, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("dynamostore: service %s: the record is %d bytes of JSON; a DynamoDB item holds 400 KB: keep revision specs and prepared state small",
			rec.Service, len(body)))
	}
	item := map[string]ddbtypes.AttributeValue{
		keyAttr:     &ddbtypes.AttributeValueMemberS{Value: rec.Service},
		attrVersion: number(version),
		attrFormat:  number(format),
		attrBody:    &ddbtypes.AttributeValueMemberS{Value: string(body)},
	}
	if rec.Lease.Owner != "" {
		item[attrLeaseOwner] = &ddbtypes.AttributeValueMemberS{Value: rec.Lease.Owner}
	}
	if !rec.Lease.Expires.IsZero() {
		item[attrLeaseExpires] = number(rec.Lease.Expires.UnixMilli())
	}
	return item, nil
}

// decodeItem reads the record of service from its item, or says what is
// wrong with the item.
func decodeItem(item map[string]ddbtypes.AttributeValue, service string) (bluegreen.Record, error) {
	v, ok := item[attrVersion].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return bluegreen.Record{}, fmt.Errorf("attribute %q is missing or not a number", attrVersion)
	}
	version, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil || version < 1 {
		return bluegreen.Record{}, fmt.Errorf("attribute %q is %q, not a positive integer", attrVersion, v.Value)
	}
	f, ok := item[attrFormat].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return bluegreen.Record{}, fmt.Errorf("attribute %q is missing or not a number", attrFormat)
	}
	if f.Value != strconv.Itoa(format) {
		return bluegreen.Record{}, fmt.Errorf("attribute %q is %s; this version of dynamostore reads format %d (a newer one may have written it)",
			attrFormat, f.Value, format)
	}
	body, ok := item[attrBody].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return bluegreen.Record{}, fmt.Errorf("attribute %q is missing or not a string", attrBody)
	}
	var rec bluegreen.Record
	if err := json.Unmarshal([]byte(body.Value), &rec); err != nil {
		return bluegreen.Record{}, fmt.Errorf("attribute %q is not a JSON record: %v", attrBody, err)
	}
	if rec.Service != service {
		return bluegreen.Record{}, fmt.Errorf("attribute %q holds the record of service %q", attrBody, rec.Service)
	}
	rec.Version = version
	return rec, nil
}
