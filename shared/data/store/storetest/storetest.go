// Package storetest gives tests a fresh table on the DynamoDB Local that
// dltest.Main started for the test binary.
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
)

var tables atomic.Int64

// Client returns a client for the test binary's DynamoDB Local.
func Client() *dynamodb.Client { return ClientAt(dltest.Endpoint()) }

// ClientAt returns a client for the DynamoDB Local at endpoint.
func ClientAt(endpoint string) *dynamodb.Client { return dynamolocal.NewClient(endpoint) }

// NewTable creates a table with a name unique to this test and returns it.
func NewTable(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, tables.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return name
}

// New returns a Store on a fresh table, with its client and table name.
func New(t testing.TB) (*store.Store, *dynamodb.Client, string) {
	t.Helper()
	db := Client()
	table := NewTable(t, db)
	return store.New(db, table), db, table
}

// CountAll counts an event for every experiment (RecordEvent's counted),
// for tests of the counting itself.
func CountAll(string) bool { return true }

// Drain counts everything the table's stream holds now, as the deployed
// aggregator would: tests call it before they read counters.
func Drain(t testing.TB, table string) { DrainAt(t, dltest.Endpoint(), table) }

// DrainAt is Drain on the DynamoDB Local at endpoint.
func DrainAt(t testing.TB, endpoint, table string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := ClientAt(endpoint)
	p, err := aggregator.NewPoller(ctx, db, dynamolocal.NewStreamsClient(endpoint), table, aggregator.New(store.New(db, table)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("drain the stream: %v", err)
	}
	if _, err := p.Drain(ctx); err != nil {
		t.Fatalf("drain the stream: %v", err)
	}
}
