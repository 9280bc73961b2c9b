// Package streamfn is the Lambda edge of the aggregator: it turns the event
// source mapping's DynamoDB stream events (tumbling windows, which carry the
// stream shard's id) into aggregator batches, and reports a failed batch as
// a failure from its first record so Lambda retries it whole.
package streamfn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/aggregator"
)

// Handler is the aggregator function's entry point.
func Handler(logger *slog.Logger, agg *aggregator.Aggregator) func(context.Context, events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	return func(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		var resp events.DynamoDBTimeWindowEventResponse
		if len(ev.Records) == 0 {
			return resp, nil
		}
		if ev.ShardID == "" {
			// The checkpoint is kept per stream shard: without its id the
			// batch cannot be counted exactly once. The mapping must use
			// tumbling windows (the stack sets them); fail loudly.
			logger.ErrorContext(ctx, "stream event without a shard id: the event source mapping needs a tumbling window", "records", len(ev.Records))
			return failed(ev.Records[0]), nil
		}
		b := aggregator.Batch{Shard: ev.ShardID, Records: make([]aggregator.Record, 0, len(ev.Records))}
		for _, r := range ev.Records {
			old, err := image(r.Change.OldImage)
			if err == nil {
				var nw map[string]types.AttributeValue
				if nw, err = image(r.Change.NewImage); err == nil {
					b.Records = append(b.Records, aggregator.Record{SequenceNumber: r.Change.SequenceNumber, Old: old, New: nw, At: r.Change.ApproximateCreationDateTime.UTC()})
					continue
				}
			}
			// A record this code cannot read would never read: fail it so it
			// reaches the failure destination after the retries.
			logger.ErrorContext(ctx, "unreadable stream record", "shard", ev.ShardID, "sequence", r.Change.SequenceNumber, "error", err.Error())
			return failed(ev.Records[0]), nil
		}
		res, err := agg.Apply(ctx, b)
		if err != nil {
			logger.ErrorContext(ctx, "aggregate failed", "shard", ev.ShardID, "records", len(b.Records), "error", err.Error())
			return failed(ev.Records[0]), nil
		}
		logger.InfoContext(ctx, "aggregated", "shard", ev.ShardID, "records", len(b.Records), "changes", res.Changes, "applied", res.Applied)
		return resp, nil
	}
}

// failed asks Lambda to retry the batch from its first record: a batch is
// counted all or nothing, so nothing after it was counted either.
func failed(first events.DynamoDBEventRecord) events.DynamoDBTimeWindowEventResponse {
	return events.DynamoDBTimeWindowEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: first.Change.SequenceNumber}}}
}

func image(in map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(in))
	for k, v := range in {
		av, err := value(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func value(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		out := make([]types.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			av, err := value(e)
			if err != nil {
				return nil, err
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m, err := image(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
