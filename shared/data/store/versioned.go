package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// versioned describes one kind of definition the store keeps the same way:
// pk <PREFIX>#<key>, sk DEF, listed on gsi1 under gsi while live (newest
// first), its audit trail beside it (HIST#<version>), each version written
// in one transaction with its audit entry. Flags and metrics are kept so.
type versioned[T any] struct {
	what   string // "flag", "metric": for errors
	pk     func(key string) string
	gsi    string
	encode func(T) (item, error)
	decode func(item) (T, error)
}

// create stores v's first version and its audit entry; ErrExists if the
// key was ever used, archived definitions included.
func (k versioned[T]) create(ctx context.Context, s *Store, key string, v T, change Change) error {
	it, err := k.encode(v)
	if err != nil {
		return fmt.Errorf("create %s %q: %w", k.what, key, err)
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     it,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}},
		s.historyPutAt(k.pk(key), change),
	}})
	if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
		return fmt.Errorf("create %s %q: %w", k.what, key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create %s %q: %w", k.what, key, err)
	}
	return nil
}

// get reads a definition (strongly consistent), archived or not;
// ErrNotFound if the key was never used.
func (k versioned[T]) get(ctx context.Context, s *Store, key string) (T, error) {
	var zero T
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(k.pk(key), skDefinition),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return zero, fmt.Errorf("get %s %q: %w", k.what, key, err)
	}
	if out.Item == nil {
		return zero, fmt.Errorf("get %s %q: %w", k.what, key, ErrNotFound)
	}
	return k.decode(out.Item)
}

// save replaces the definition still at version prev with v and appends
// change, in one transaction. When another version is stored, nothing is
// written and conflict is true, with current the stored one (the zero
// value if it could not be read).
func (k versioned[T]) save(ctx context.Context, s *Store, key string, v T, prev int64, change Change) (current T, conflict bool, err error) {
	var zero T
	it, err := k.encode(v)
	if err != nil {
		return zero, false, fmt.Errorf("save %s %q: %w", k.what, key, err)
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(s.table),
			Item:                                it,
			ConditionExpression:                 aws.String("#version = :prev"),
			ExpressionAttributeNames:            map[string]string{"#version": "version"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":prev": avN(prev)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		s.historyPutAt(k.pk(key), change),
	}})
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
		if r.Item != nil {
			current, _ = k.decode(r.Item)
		}
		return current, true, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("save %s %q: %w", k.what, key, err)
	}
	return zero, false, nil
}

// query is the gsi1 Query of the live definitions, newest first.
func (k versioned[T]) query(s *Store) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(k.gsi)},
		ScanIndexForward:          aws.Bool(false),
	}
}

// list is one page of the live definitions, newest first.
func (k versioned[T]) list(ctx context.Context, s *Store, limit int, cursor string) (Page[T], error) {
	items, next, err := s.queryPage(ctx, k.query(s), pageOf{
		keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: k.gsi,
		itemPre: []string{k.pk("")}, itemSK: skDefinition,
	}, limit, cursor)
	if err != nil {
		return Page[T]{}, fmt.Errorf("list %ss: %w", k.what, err)
	}
	page := Page[T]{Next: next}
	for _, it := range items {
		v, err := k.decode(it)
		if err != nil {
			return Page[T]{}, err
		}
		page.Items = append(page.Items, v)
	}
	return page, nil
}

// live returns every definition listed on gsi1 that keep accepts, with one
// Query (more pages only past 1 MB). The index is eventually consistent: a
// definition written a moment ago may show its previous version, which is
// why keep can drop one the index still lists after an archive.
func (k versioned[T]) live(ctx context.Context, s *Store, keep func(T) bool) ([]T, error) {
	in := k.query(s)
	var out []T
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("live %ss: %w", k.what, err)
		}
		for _, it := range page.Items {
			v, err := k.decode(it)
			if err != nil {
				return nil, err
			}
			if keep(v) {
				out = append(out, v)
			}
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// history lists a definition's audit trail, newest first.
func (k versioned[T]) history(ctx context.Context, s *Store, key string, limit int, cursor string) (Page[Change], error) {
	page, err := s.historyOf(ctx, k.pk(key), limit, cursor)
	if err != nil {
		return Page[Change]{}, fmt.Errorf("history of %s %q: %w", k.what, key, err)
	}
	return page, nil
}
