package aggregator_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// workload writes a mixed history: assignments, exposures (first and
// later), events before and after exposure, a retried event.
func workload(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, key := range []string{"a", "b"} {
		if err := st.CreateExperiment(ctx, &experiment.Experiment{Key: key, Name: key, Status: experiment.Active, Coverage: 1, Version: 1,
			Events: []string{"purchase", "signup"}, Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	for u := 0; u < 20; u++ {
		user := fmt.Sprintf("u%02d", u)
		for _, key := range []string{"a", "b"} {
			variant := []string{"control", "treatment"}[u%2]
			if _, _, err := st.CreateAssignment(ctx, key, experiment.UserUnit(user), variant); err != nil {
				t.Fatal(err)
			}
		}
		asg, err := st.UnitAssignments(ctx, experiment.UserUnit(user))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		if u%3 == 0 { // converts before exposure
			if _, err := st.RecordEvent(ctx, &experiment.Event{ID: "p", Unit: experiment.UserUnit(user), Name: "purchase", Timestamp: now, ReceivedAt: now}, asg, storetest.CountAll); err != nil {
				t.Fatal(err)
			}
		}
		if u%2 == 0 {
			for _, a := range asg {
				for i := 0; i < 2; i++ {
					if _, _, err := st.RecordExposure(ctx, a, a.Variant, ""); err != nil {
						t.Fatal(err)
					}
					a, _ = st.GetAssignment(ctx, a.Experiment, experiment.UserUnit(user), true)
				}
			}
		}
		asg, _ = st.UnitAssignments(ctx, experiment.UserUnit(user))
		if u%5 == 0 { // converts after exposure, and retries the event
			for i := 0; i < 2; i++ {
				if _, err := st.RecordEvent(ctx, &experiment.Event{ID: "s", Unit: experiment.UserUnit(user), Name: "signup", Timestamp: now, ReceivedAt: now}, asg, storetest.CountAll); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// streamRecords reads every record of the table's stream, shard by shard.
func streamRecords(t *testing.T, db *dynamodb.Client, table string) map[string][]aggregator.Record {
	t.Helper()
	ctx := context.Background()
	streams := dynamolocal.NewStreamsClient(dltest.Endpoint())
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	arn := desc.Table.LatestStreamArn
	out, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]aggregator.Record{}
	for _, sh := range out.StreamDescription.Shards {
		it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			page, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) == 0 {
				break
			}
			for _, r := range page.Records {
				all[*sh.ShardId] = append(all[*sh.ShardId], aggregator.RecordOf(r))
			}
			iter = page.NextShardIterator
		}
	}
	return all
}

// TestReplayedBatchesCountOnce: batches delivered twice, and a retry from a
// record that brings more records after it, count every change exactly
// once: the counters equal a recount from the items.
func TestReplayedBatchesCountOnce(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	workload(t, st)
	agg := aggregator.New(st)
	records := streamRecords(t, db, table)
	if len(records) == 0 {
		t.Fatal("no stream records")
	}
	for shard, rs := range records {
		for start := 0; start < len(rs); start += 7 {
			b := aggregator.Batch{Shard: shard, Records: rs[start:min(start+7, len(rs))]}
			for delivery := 0; delivery < 2; delivery++ { // every batch arrives twice
				if _, err := agg.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			if start >= 7 { // and a retry from an earlier record, with more after it
				if _, err := agg.Apply(ctx, aggregator.Batch{Shard: shard, Records: rs[start-5 : min(start+9, len(rs))]}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, key := range []string{"a", "b"} {
		live, err := st.ReadAggregates(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		recount, err := st.Recount(ctx, key, []string{"purchase", "signup"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(live.NonZero(), recount.NonZero()) {
			t.Fatalf("%s: live %+v, recount %+v", key, live, recount)
		}
		if live.Assigned["control"]+live.Assigned["treatment"] != 20 || live.AsOf.IsZero() {
			t.Fatalf("%s: %+v", key, live)
		}
	}
	// A whole replay from the start changes nothing either.
	for shard, rs := range records {
		for start := 0; start < len(rs); start += aggregator.MaxBatch {
			if res, err := agg.Apply(ctx, aggregator.Batch{Shard: shard, Records: rs[start:min(start+aggregator.MaxBatch, len(rs))]}); err != nil || res.Applied {
				t.Fatalf("replay from the start: %+v %v", res, err)
			}
		}
	}
	again, _ := st.ReadAggregates(ctx, "a")
	recount, _ := st.Recount(ctx, "a", []string{"purchase", "signup"}, false)
	if !reflect.DeepEqual(again.NonZero(), recount.NonZero()) {
		t.Fatalf("after a full replay: live %+v, recount %+v", again, recount)
	}
}

// TestPollerDrains: the local stand-in for the event source mapping counts
// what the stream holds, and a second poller from the start adds nothing.
func TestPollerDrains(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	workload(t, st)
	for i := 0; i < 2; i++ {
		p, err := aggregator.NewPoller(ctx, db, dynamolocal.NewStreamsClient(dltest.Endpoint()), table, aggregator.New(st), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := p.Drain(ctx); err != nil || n == 0 {
			t.Fatalf("drain: %d %v", n, err)
		}
	}
	live, _ := st.ReadAggregates(ctx, "b")
	recount, _ := st.Recount(ctx, "b", []string{"purchase", "signup"}, false)
	if !reflect.DeepEqual(live.NonZero(), recount.NonZero()) || live.Assigned["control"] != 10 {
		t.Fatalf("live %+v, recount %+v", live, recount)
	}
}
