package aggregator_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
)

// lostMidBatch passes calls to DynamoDB but fails, once, the first
// transaction that applies a record's later part (its checkpoint step
// starts from "<seq>/<k>"), and the one after skip others: a crash between
// two parts of one record, and between two ranges of a batch.
type lostMidBatch struct {
	store.DynamoDB
	skip            int
	lostPart, lostN bool
}

func (l *lostMidBatch) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if u := in.TransactItems[0].Update; u != nil {
		if from, ok := u.ExpressionAttributeValues[":from"].(*types.AttributeValueMemberS); ok && strings.Contains(from.Value, "/") && !l.lostPart {
			l.lostPart = true
			return nil, errors.New("injected: lost between two parts of a record")
		}
	}
	if l.skip--; l.skip < 0 && !l.lostN {
		l.lostN = true
		return nil, errors.New("injected: lost between two ranges of a batch")
	}
	return l.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

// wideUnits gives units of experiment key, one per variant, each exposed
// and holding a value of every metric named: the stream then holds their
// creation, exposure and values. It returns their assignments as stored.
func wideUnits(t *testing.T, st *store.Store, db *dynamodb.Client, table, key string, variants int, metrics []string) []*experiment.Assignment {
	t.Helper()
	ctx := context.Background()
	var out []*experiment.Assignment
	for v := range variants {
		unit := experiment.UserUnit(fmt.Sprintf("%s-%02d", key, v))
		a, _, err := st.CreateAssignment(ctx, key, unit, fmt.Sprintf("v%02d", v))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.RecordExposure(ctx, a, a.Variant, ""); err != nil {
			t.Fatal(err)
		}
		// The values as events feeding these metrics would leave them,
		// written whole (one update expression could not hold them all).
		k := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "USER#" + unit.ID}, "sk": &types.AttributeValueMemberS{Value: "ASG#" + key}}
		got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil || got.Item == nil {
			t.Fatalf("assignment item of %s: %v", unit, err)
		}
		// Other items' changes just before and after, as events and
		// exposures interleave in the stream: a batch may start with one,
		// and a range end with one.
		note := func(sk string) {
			t.Helper()
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "NOTE#" + unit.ID}, "sk": &types.AttributeValueMemberS{Value: sk}}}); err != nil {
				t.Fatal(err)
			}
		}
		note("BEFORE")
		for i, m := range metrics {
			got.Item["mx:"+m] = &types.AttributeValueMemberN{Value: fmt.Sprint(1 + (v+i)%7)}
			got.Item["my:"+m] = &types.AttributeValueMemberN{Value: fmt.Sprint(1 + (v+i)%3)}
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: got.Item}); err != nil {
			t.Fatal(err)
		}
		note("AFTER")
		if a, err = st.GetAssignment(ctx, key, unit, true); err != nil || len(a.Values) != len(metrics) {
			t.Fatalf("assignment of %s: %+v %v", unit, a, err)
		}
		out = append(out, a)
	}
	return out
}

// TestDeltasBeyondOneTransaction: experiments with many metrics × variants,
// whose batch deltas need far more counter items than one transaction
// holds: "wide" (20 variants × 200 ratio metrics: 20,000 sums, a record 5
// items of one key, the batch over 100) goes in ranges of records; "deep"
// (650 ratio metrics: a record 17 items of one key, more than its 16
// counter shards) goes a record at a time, in parts. Lost mid-part and mid-batch,
// then delivered again, then replayed whole, the counters are the sum of
// the units' contributions.
func TestDeltasBeyondOneTransaction(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	keys := make([]string, 650)
	shapes := experiment.Shapes{}
	for i := range keys {
		keys[i] = fmt.Sprintf("m%04d", i)
		m := &metric.Metric{Key: keys[i], Name: keys[i], Type: metric.Ratio, Direction: metric.Increase, Status: metric.Live, Version: 1,
			Numerator:   &metric.Component{Type: metric.Sum, Event: "purchase", Property: "cents"},
			Denominator: &metric.Component{Type: metric.Count, Event: "purchase"}}
		if err := st.CreateMetric(ctx, m); err != nil {
			t.Fatal(err)
		}
		shapes[keys[i]] = m.Shape()
	}
	units := map[string][]*experiment.Assignment{
		"wide": wideUnits(t, st, db, table, "wide", 20, keys[:200]),
		"deep": wideUnits(t, st, db, table, "deep", 2, keys),
	}
	want := map[string]experiment.Aggregates{}
	for key, as := range units {
		g := experiment.NewAggregates()
		for _, a := range as {
			g.Add(experiment.ContributionOf(a, shapes))
		}
		want[key] = g.NonZero()
	}
	if n := store.DeltaItems(want["wide"]); n <= store.MaxDeltaItems {
		t.Fatalf("wide takes %d counter items: the test needs more than %d", n, store.MaxDeltaItems)
	}
	if n := store.DeltaItems(experiment.ContributionOf(units["deep"][0], shapes)); n <= store.AggregateShards {
		t.Fatalf("a deep record takes %d counter items: the test needs more than %d", n, store.AggregateShards)
	}
	check := func(when string) {
		t.Helper()
		for key, w := range want {
			live, err := st.ReadAggregates(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if live = live.NonZero(); !reflect.DeepEqual(live, w) {
				t.Fatalf("%s: %s's counters differ from the sum of its units' contributions (exposed %v, want %v; %d variants' sums, want %d)",
					when, key, live.Exposed, w.Exposed, len(live.Sums), len(w.Sums))
			}
		}
	}

	records := streamRecords(t, db, table)
	loss := &lostMidBatch{DynamoDB: db, skip: 3}
	lossy := aggregator.New(store.New(loss, table))
	agg := aggregator.New(st)
	for shard, rs := range records {
		for _, part := range startingAtOthers(rs) {
			b := aggregator.Batch{Shard: shard, Records: part}
			for lost := 0; ; lost++ { // as Lambda retries a failed batch
				if _, err := lossy.Apply(ctx, b); err == nil {
					break
				} else if lost == 2 {
					t.Fatal(err)
				}
			}
			if res, err := agg.Apply(ctx, b); err != nil || res.Applied { // delivered again
				t.Fatalf("redelivery: %+v %v", res, err)
			}
		}
	}
	if !loss.lostPart || !loss.lostN {
		t.Fatalf("the losses were not all injected: %+v", loss)
	}
	check("delivered")
	for shard, rs := range records { // replayed whole, in one batch
		if res, err := agg.Apply(ctx, aggregator.Batch{Shard: shard, Records: rs}); err != nil || res.Applied {
			t.Fatalf("replay: %+v %v", res, err)
		}
	}
	check("replayed")
}

// startingAtOthers cuts records into batches of at most MaxBatch that
// start where a unit's values are about to change, at the change of
// another item (counting nothing), so the batch holds
// [other, values, other, ...]: the hardest shape for cutting a batch into
// ranges.
func startingAtOthers(rs []aggregator.Record) [][]aggregator.Record {
	var out [][]aggregator.Record
	start := 0
	for i, r := range rs {
		before := false
		if sk, ok := r.New["sk"].(*types.AttributeValueMemberS); ok {
			before = sk.Value == "BEFORE"
		}
		if i > start && (i-start == aggregator.MaxBatch || before) {
			out, start = append(out, rs[start:i]), i
		}
	}
	return append(out, rs[start:])
}
