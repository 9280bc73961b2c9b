package main

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// meter counts DynamoDB calls and the capacity units they consumed, by
// asking every call to return its consumed capacity (an SDK middleware, so
// the code under measurement is unchanged).
type meter struct {
	calls    atomic.Int64
	capacity atomic.Int64 // in milli-units
	// reads and writes split capacity by the call's kind (milli-units),
	// for the cost table: they are priced differently.
	reads, writes atomic.Int64
}

// split returns the read and write units consumed so far.
func (m *meter) split() (reads, writes float64) {
	return float64(m.reads.Load()) / 1000, float64(m.writes.Load()) / 1000
}

func (m *meter) snapshot() (calls int64, units float64) {
	return m.calls.Load(), float64(m.capacity.Load()) / 1000
}

func (m *meter) apply(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("meter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				total := types.ReturnConsumedCapacityTotal
				switch p := in.Parameters.(type) {
				case *dynamodb.GetItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.PutItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.UpdateItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.QueryInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.BatchGetItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.TransactWriteItemsInput:
					p.ReturnConsumedCapacity = total
				}
				out, md, err := next.HandleInitialize(ctx, in)
				m.calls.Add(1)
				m.add(out.Result)
				if t, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok && err == nil {
					// The cost split prices a transaction as DynamoDB bills
					// it, 2 write units per item of up to 1 KB: DynamoDB
					// Local reports several times that.
					m.writes.Add(int64(2000 * len(t.TransactItems)))
				}
				return out, md, err
			}), middleware.Before)
	})
}

func (m *meter) add(result any) {
	var caps []types.ConsumedCapacity
	switch r := result.(type) {
	case *dynamodb.GetItemOutput:
		caps = one(r.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		caps = one(r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		caps = one(r.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		caps = one(r.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		caps = r.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		caps = r.ConsumedCapacity
	}
	var kind *atomic.Int64
	switch result.(type) {
	case *dynamodb.GetItemOutput, *dynamodb.QueryOutput, *dynamodb.BatchGetItemOutput:
		kind = &m.reads
	case *dynamodb.PutItemOutput, *dynamodb.UpdateItemOutput:
		kind = &m.writes
	}
	for _, c := range caps {
		if c.CapacityUnits != nil {
			m.capacity.Add(int64(*c.CapacityUnits * 1000))
			if kind != nil {
				kind.Add(int64(*c.CapacityUnits * 1000))
			}
		}
	}
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}
