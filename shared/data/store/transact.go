package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Cancellation reason codes DynamoDB reports per transaction item.
const (
	conditionFailed     = "ConditionalCheckFailed"
	transactionConflict = "TransactionConflict"
)

// conflictAttempts bounds how often a transaction is re-sent after DynamoDB
// cancels it because another transaction was touching one of its items at the
// same moment (a counter shard, usually). Condition failures are never
// retried here: they are answers.
const conflictAttempts = 6

// transact sends a transaction, re-sending it with jittered backoff while it
// is cancelled only by conflicts with concurrent transactions.
func (s *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput) error {
	var err error
	for attempt := 0; attempt < conflictAttempts; attempt++ {
		if attempt > 0 {
			// A new token for a new attempt: the cancelled one is spent.
			in.ClientRequestToken = nil
			backoff := time.Duration(5<<attempt) * time.Millisecond
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff/2 + rand.N(backoff/2+1)):
			}
		}
		_, err = s.db.TransactWriteItems(ctx, in)
		if err == nil || !onlyConflicts(err) {
			return err
		}
	}
	return err
}

// onlyConflicts reports whether a transaction was cancelled by conflicts and
// nothing else (no failed condition).
func onlyConflicts(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	conflict := false
	for _, r := range tce.CancellationReasons {
		switch code := deref(r.Code); code {
		case transactionConflict:
			conflict = true
		case "", "None":
		default:
			return false
		}
	}
	return conflict
}

// cancellationReason returns the reason code DynamoDB gave for item i of a
// cancelled transaction.
func cancellationReason(err error, i int) (string, bool) {
	r, ok := cancellation(err, i)
	if !ok {
		return "", false
	}
	return deref(r.Code), true
}

// cancellation returns the reason for item i, which carries the item's
// current value when the request asked for ALL_OLD on condition failure.
func cancellation(err error, i int) (types.CancellationReason, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || i >= len(tce.CancellationReasons) {
		return types.CancellationReason{}, false
	}
	return tce.CancellationReasons[i], true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// asError is errors.As, named for reading at call sites.
func asError[T error](err error, target *T) bool { return err != nil && errors.As(err, target) }
