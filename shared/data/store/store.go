// Package store is the only package that speaks DynamoDB. Everything lives in
// one table; docs/data-model.md describes every item shape and access pattern.
//
// A request writes only the calling unit's own items: an assignment is a
// conditional put; an exposure and the first-exposure mark, or an event and
// the conversion marks it causes, go in one TransactWriteItems call of that
// unit's items, so a failure never leaves half of them written. Counters
// shared by many units are kept off the request path, from the table's
// change stream (shared/data/aggregator).
package store

import (
	"context"
	"errors"
	"time"

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
}

// Store reads and writes the service's table.
type Store struct {
	db    DynamoDB
	table string
	now   func() time.Time
}

// New returns a Store on table.
func New(db DynamoDB, table string) *Store {
	return &Store{db: db, table: table, now: func() time.Time { return time.Now().UTC() }}
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
