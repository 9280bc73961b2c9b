// Package store is the only package that speaks DynamoDB. Everything lives in
// one table; docs/data-model.md describes every item shape and access pattern.
//
// A request writes only the calling unit's own items: an assignment (or a
// held-out unit's holdout membership) is a conditional put; an exposure and
// the first-exposure mark (and the unit's exposed holdout memberships), or
// an event and the conversion marks it causes, go in one
// TransactWriteItems call of that unit's items, so a failure never leaves
// half of them written. Counters
// shared by many units are kept off the request path, from the table's
// change stream (shared/data/aggregator).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB is the part of the DynamoDB client the store uses. Tests inject a
// client pointed at DynamoDB Local, or wrap one to count calls.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Store reads and writes the service's table.
type Store struct {
	db        DynamoDB
	table     string
	now       func() time.Time
	retention time.Duration
}

// DefaultRetentionDays is how long exposure and event items are kept.
const DefaultRetentionDays = 400

// New returns a Store on table.
func New(db DynamoDB, table string) *Store {
	return &Store{db: db, table: table, now: func() time.Time { return time.Now().UTC() }, retention: DefaultRetentionDays * 24 * time.Hour}
}

// WithRetention returns a copy of s that keeps exposure and event items for
// days (0: the default). Items carry AttrExpiresAt, the table's TTL
// attribute: DynamoDB deletes them some time after (within days). The
// counters and assignments stay; a recount can only rebuild from what is
// left.
func (s *Store) WithRetention(days int) *Store {
	c := *s
	if days > 0 {
		c.retention = time.Duration(days) * 24 * time.Hour
	}
	return &c
}

// RetentionDays is how long exposure and event items are kept.
func (s *Store) RetentionDays() int { return int(s.retention / (24 * time.Hour)) }

// expiresAt is the TTL value of a raw item made at t.
func (s *Store) expiresAt(t time.Time) types.AttributeValue {
	return avN(t.Add(s.retention).Unix())
}

// WithClock returns a copy of s that reads time from now (tests).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// Errors the features map to HTTP.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Ping reads one key that never exists, which proves the table answers and
// the caller may read it, at the cost of one eventually consistent read.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key:       keyOf("HEALTH", "PING"),
	})
	if err != nil {
		return fmt.Errorf("ping table %s: %w", s.table, err)
	}
	return nil
}
