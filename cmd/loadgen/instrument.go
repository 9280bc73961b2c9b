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
	for _, c := range caps {
		if c.CapacityUnits != nil {
			m.capacity.Add(int64(*c.CapacityUnits * 1000))
		}
	}
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}
