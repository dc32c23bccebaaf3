package dynamostore

import (
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// codes classifies the DynamoDB error codes that awserr's common table does
// not.
var codes = awserr.Codes{
	"ConditionalCheckFailedException":          bluegreen.CodeConflict,
	"TransactionConflictException":             bluegreen.CodeConflict,
	"ReplicatedWriteConflictException":         bluegreen.CodeTransient,
	"ItemCollectionSizeLimitExceededException": bluegreen.CodeInvalid,
}

// ErrorCode classifies an error of Load or Save with awserr.Classify: a
// lost conditional write is CodeConflict; throttling
// (ProvisionedThroughputExceededException, RequestLimitExceeded,
// ThrottlingException) is CodeThrottled; 5xx responses and connection
// failures are CodeTransient; a missing table is CodeNotFound; missing
// permissions or credentials are CodePermission; canceled and expired
// contexts are CodeCanceled and CodeTimeout. Errors Load and Save return
// already carry their code.
func (s *Store) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }
