package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/driver"
)

// maxPages bounds the pages read from one shard of the index: at 1 MB a
// page, far more unfinished deployments than any fleet has.
const maxPages = 10000

// Unfinished returns the services whose record is unfinished, sorted, from
// the sparse global secondary index Options.UnfinishedIndex: one paginated
// Query per shard of the index (eight, at once), never a Scan, so the cost
// follows the deployments in flight and not the size of the table. It
// implements driver.Lister, which Deployer.Run uses to adopt deployments
// whose owner is gone. Each service comes with its lease's owner and
// heartbeat flag where the index projects them (CreateTableInput's does;
// a keys-only index from an earlier version lists names only, and
// Deployer.Run then loads every record it does not drive).
//
// The index is eventually consistent: a deployment that just started or
// finished may be missing or listed for a moment. Callers load each
// record before acting on it, as Deployer.Run does. Items written before
// the index attribute existed (by earlier versions of this package) are not
// listed until they are saved again. A table without the index makes
// Unfinished fail with bluegreen.CodeFailedPrecondition, naming the index
// and how to add it.
func (s *Store) Unfinished(ctx context.Context) ([]driver.Listed, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		names []driver.Listed
		errs  []error
	)
	for shard := range shards {
		wg.Go(func() {
			got, err := s.queryShard(ctx, strconv.Itoa(shard))
			mu.Lock()
			defer mu.Unlock()
			names = append(names, got...)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	slices.SortFunc(names, func(a, b driver.Listed) int { return strings.Compare(a.Service, b.Service) })
	return slices.CompactFunc(names, func(a, b driver.Listed) bool { return a.Service == b.Service }), nil
}

// queryShard returns the services of one partition of the index, page by page.
func (s *Store) queryShard(ctx context.Context, shard string) ([]driver.Listed, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.opts.Table),
		IndexName:              aws.String(s.opts.UnfinishedIndex),
		KeyConditionExpression: aws.String("#p = :p"),
		// Whatever the index holds: the lease's owner and heartbeat flag
		// with CreateTableInput's index, the keys alone with a keys-only one.
		Select:                    ddbtypes.SelectAllProjectedAttributes,
		ExpressionAttributeNames:  map[string]string{"#p": attrShard},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": &ddbtypes.AttributeValueMemberS{Value: shard}},
	}
	var names []driver.Listed
	for range maxPages {
		out, err := s.opts.Client.Query(ctx, in)
		if err != nil {
			return nil, s.queryError(err)
		}
		for _, item := range out.Items {
			k, ok := item[s.opts.KeyAttribute].(*ddbtypes.AttributeValueMemberS)
			if !ok || k.Value == "" {
				continue
			}
			l := driver.Listed{Service: k.Value}
			if owner, ok := item[attrLeaseOwner].(*ddbtypes.AttributeValueMemberS); ok {
				l.Lease.Owner = owner.Value
				if hb, ok := item[attrLeaseHeartbeat].(*ddbtypes.AttributeValueMemberBOOL); ok {
					l.Lease.Heartbeat = hb.Value
				}
			}
			names = append(names, l)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return names, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return nil, bluegreen.NewError(bluegreen.CodeUnknown, fmt.Errorf("dynamostore: listing unfinished deployments: shard %s of index %s of table %s has more than %d pages",
		shard, s.opts.UnfinishedIndex, s.opts.Table, maxPages))
}

// queryError classifies a failed Query and says how to fix a missing index.
func (s *Store) queryError(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException" {
		// DynamoDB answers a Query of an index the table lacks with a
		// ValidationException; the rest of this package's Query is fixed,
		// so any validation failure is a table that does not fit it.
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
			"dynamostore: listing unfinished deployments: table %s has no usable global secondary index %s (partition key %s, sort key %s, both strings): "+
				"add it (UpdateTable with Store.CreateTableInput().GlobalSecondaryIndexes[0]) or set Options.UnfinishedIndex to the index you made: %w",
			s.opts.Table, s.opts.UnfinishedIndex, attrShard, s.opts.KeyAttribute, err))
	}
	return s.apiError("list", "unfinished deployments", err)
}
