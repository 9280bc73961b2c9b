package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Erased counts the items an erasure deleted, by kind.
type Erased struct {
	Assignments int `json:"assignments"`
	Exposures   int `json:"exposures"`
	Events      int `json:"events"`
	// Holdouts are the unit's holdout memberships.
	Holdouts int `json:"holdouts"`
	// DailyTotals are the unit's per-day totals (the CUPED covariate's
	// source).
	DailyTotals int `json:"daily_totals"`
}

// Total is the number of items deleted.
func (e Erased) Total() int {
	return e.Assignments + e.Exposures + e.Events + e.Holdouts + e.DailyTotals
}

// ErrUnitBusy: the unit kept writing new items through every round of an
// erasure. What was found is deleted; erasing again finishes the job.
var ErrUnitBusy = errors.New("the unit kept writing during the erasure")

// eraseRounds bounds how often an erasure reads the unit's partition again
// to catch items written while it deleted.
const eraseRounds = 5

// EraseUnit deletes every item of one unit: everything in its partition,
// USER#<id> or DEVICE#<id> (assignments, exposures, events, holdout memberships, daily totals). It repeats until a consistent read finds
// the partition empty, so an item the unit's concurrent traffic wrote
// meanwhile is deleted too, and it is idempotent: erasing an erased unit
// deletes nothing.
//
// Counters follow on their own and exactly: deleting an assignment (or a
// holdout membership) reaches the aggregator as a REMOVE, which takes away
// its contribution (experiment.Delta(old, nil), holdout.Delta(old, nil)),
// whatever it had become by then. A request racing the erasure either commits before the
// delete (and is deleted with it) or fails the attribute_exists condition
// its transaction puts on the assignment.
func (s *Store) EraseUnit(ctx context.Context, unit experiment.UnitRef) (Erased, error) {
	var total Erased
	for round := 0; round < eraseRounds; round++ {
		keys, err := s.unitKeys(ctx, unit)
		if err != nil {
			return total, err
		}
		if len(keys) == 0 {
			return total, nil
		}
		if err := s.deleteAll(ctx, keys); err != nil {
			return total, fmt.Errorf("erase unit: %w", err)
		}
		for _, k := range keys {
			switch sk := getS(k, AttrSK); {
			case strings.HasPrefix(sk, "ASG#"):
				total.Assignments++
			case strings.HasPrefix(sk, "EXPO#"):
				total.Exposures++
			case strings.HasPrefix(sk, membershipPrefix):
				total.Holdouts++
			case strings.HasPrefix(sk, dayPrefix):
				total.DailyTotals++
			default:
				total.Events++
			}
		}
	}
	return total, fmt.Errorf("erase unit after %d rounds: %w", eraseRounds, ErrUnitBusy)
}

// unitKeys reads the keys of every item in the unit's partition.
func (s *Store) unitKeys(ctx context.Context, unit experiment.UnitRef) ([]item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ProjectionExpression:      aws.String("#pk, #sk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(unitPK(unit))},
		ConsistentRead:            aws.Bool(true),
	}
	var out []item
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("items of the unit: %w", err)
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// batchWriteLimit is DynamoDB's most requests in one BatchWriteItem.
const batchWriteLimit = 25

// deleteAll deletes keys in batches, sending again what DynamoDB left
// unprocessed (throttling) with a growing pause.
func (s *Store) deleteAll(ctx context.Context, keys []item) error {
	for start := 0; start < len(keys); start += batchWriteLimit {
		end := min(start+batchWriteLimit, len(keys))
		reqs := make([]types.WriteRequest, 0, end-start)
		for _, k := range keys[start:end] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(pending[s.table]) > 0; attempt++ {
		if attempt > 0 {
			if attempt == 8 {
				return fmt.Errorf("batch write: %d requests still unprocessed", len(pending[s.table]))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
			}
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		pending = out.UnprocessedItems
	}
	return nil
}

// ErasureAudit is the record of one erasure: who asked, when, and how many
// items went. It never holds the unit's id (that is what was erased).
type ErasureAudit struct {
	ID        string    `json:"id"`
	By        string    `json:"by"`
	At        time.Time `json:"-"`
	RequestID string    `json:"request_id"`
	Erased    Erased    `json:"erased"`
	Complete  bool      `json:"complete"` // false: it stopped part way (retry to finish)
}

const pkErasures = "AUDIT#ERASURE"

// RecordErasure writes an erasure's audit entry (pk AUDIT#ERASURE, sk its
// time and id, so the entries list in time order with one query).
func (s *Store) RecordErasure(ctx context.Context, a *ErasureAudit) error {
	if a.ID == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("erasure audit id: %w", err)
		}
		a.ID = u.String()
	}
	it := keyOf(pkErasures, formatTime(a.At)+"#"+a.ID)
	it["id"] = avS(a.ID)
	it["by"] = avS(a.By)
	it["at"] = avT(a.At)
	it["request_id"] = avS(a.RequestID)
	it["assignments"] = avN(int64(a.Erased.Assignments))
	it["exposures"] = avN(int64(a.Erased.Exposures))
	it["events"] = avN(int64(a.Erased.Events))
	it["holdouts"] = avN(int64(a.Erased.Holdouts))
	it["daily_totals"] = avN(int64(a.Erased.DailyTotals))
	it["complete"] = &types.AttributeValueMemberBOOL{Value: a.Complete}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("record erasure: %w", err)
	}
	return nil
}

// ListErasures lists the erasure audit entries, newest first.
func (s *Store) ListErasures(ctx context.Context, limit int, cursor string) (Page[ErasureAudit], error) {
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pkErasures)},
		ScanIndexForward:          aws.Bool(false),
	}, pageOf{keyAttrs: []string{AttrPK, AttrSK}, partition: AttrPK, value: pkErasures}, limit, cursor)
	if err != nil {
		return Page[ErasureAudit]{}, fmt.Errorf("list erasures: %w", err)
	}
	page := Page[ErasureAudit]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, ErasureAudit{
			ID: getS(it, "id"), By: getS(it, "by"), At: getT(it, "at"), RequestID: getS(it, "request_id"),
			Erased: Erased{Assignments: int(getN(it, "assignments")), Exposures: int(getN(it, "exposures")),
				Events: int(getN(it, "events")), Holdouts: int(getN(it, "holdouts")),
				DailyTotals: int(getN(it, "daily_totals"))},
			Complete: isTrue(it["complete"]),
		})
	}
	return page, nil
}

func isTrue(v types.AttributeValue) bool {
	b, ok := v.(*types.AttributeValueMemberBOOL)
	return ok && b.Value
}
