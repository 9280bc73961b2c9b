package streamfn_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/edge/streamfn"
)

// fakeStore records what the aggregator applies.
type fakeStore struct {
	fail  error
	calls []string // shard/first/last
	got   map[string]experiment.Aggregates
}

// GetMetrics knows no metric: these records carry no metric values.
func (f *fakeStore) GetMetrics(context.Context, []string) (map[string]*metric.Metric, error) {
	return map[string]*metric.Metric{}, nil
}

func (f *fakeStore) ApplyDeltas(_ context.Context, shard, first, last string, _ time.Time, deltas map[string]experiment.Aggregates) (bool, string, error) {
	if f.fail != nil {
		return false, "", f.fail
	}
	f.calls = append(f.calls, shard+"/"+first+"/"+last)
	f.got = deltas
	return true, last, nil
}

func s(v string) events.DynamoDBAttributeValue { return events.NewStringAttribute(v) }

func assignment(user, variant string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"pk": s("USER#" + user), "sk": s("ASG#exp"), "experiment": s("exp"), "user_id": s(user),
		"variant": s(variant), "assigned_at": s("2026-11-30T09:00:00.000000000Z"),
		"conversions": events.NewStringSetAttribute([]string{"purchase"}),
	}
}

func record(seq string, old, nw map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{Change: events.DynamoDBStreamRecord{SequenceNumber: seq, OldImage: old, NewImage: nw}}
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	exposed := assignment("u1", "b")
	exposed["first_exposed_at"] = s("2026-11-30T09:01:00.000000000Z")
	ev := events.DynamoDBTimeWindowEvent{
		DynamoDBEvent: events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
			record("100", nil, assignment("u1", "b")),
			record("101", assignment("u1", "b"), exposed),
			record("102", nil, map[string]events.DynamoDBAttributeValue{"pk": s("USER#u1"), "sk": s("EVT#e1")}),
		}},
	}
	ev.ShardID = "shardId-1"

	st := &fakeStore{}
	resp, err := streamfn.Handler(quiet, aggregator.New(st))(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handler: %+v %v", resp, err)
	}
	g := st.got["exp"]
	if len(st.calls) != 1 || st.calls[0] != "shardId-1/100/102" || g.Assigned["b"] != 1 || g.Exposed["b"] != 1 || g.Converted["b"]["purchase"] != 1 {
		t.Fatalf("applied %v %+v", st.calls, st.got)
	}

	// A failure asks Lambda to retry from the batch's first record.
	resp, _ = streamfn.Handler(quiet, aggregator.New(&fakeStore{fail: errors.New("down")}))(ctx, ev)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "100" {
		t.Fatalf("failure response %+v", resp)
	}
	// Without the shard id (no tumbling window) nothing is counted.
	ev.ShardID = ""
	st = &fakeStore{}
	resp, _ = streamfn.Handler(quiet, aggregator.New(st))(ctx, ev)
	if len(resp.BatchItemFailures) != 1 || len(st.calls) != 0 {
		t.Fatalf("without a shard id: %+v, applied %v", resp, st.calls)
	}
}
