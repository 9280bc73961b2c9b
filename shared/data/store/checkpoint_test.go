package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// lostBetweenParts passes calls to DynamoDB but fails, once, the first
// transaction that would apply a record's later part (its checkpoint step
// starts from "<seq>/<k>"): a crash between two parts.
type lostBetweenParts struct {
	store.DynamoDB
	failed bool
}

func (l *lostBetweenParts) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if u := in.TransactItems[0].Update; !l.failed && u != nil {
		if from, ok := u.ExpressionAttributeValues[":from"].(*types.AttributeValueMemberS); ok && strings.Contains(from.Value, "/") {
			l.failed = true
			return nil, errors.New("injected: lost between two parts")
		}
	}
	return l.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

// wide is one experiment's delta over variants × metrics sums (x and xx
// each): 2·variants·metrics counters.
func wide(variants, metrics int) experiment.Aggregates {
	d := experiment.NewAggregates()
	for v := range variants {
		d.Exposed[fmt.Sprintf("v%02d", v)] = 1
		for m := range metrics {
			x := float64(m + 1)
			d.AddSums(fmt.Sprintf("v%02d", v), fmt.Sprintf("m%04d", m), experiment.Sums{X: x, XX: x * x})
		}
	}
	return d
}

// TestApplyDeltasOfOneRecordInParts: one record whose delta needs more
// counter items than a transaction holds (22,000 counters, 110 items of one
// key, so 7 transactions of at most 16) is applied in parts, exactly once:
// lost between two parts, its redelivery applies the rest; delivered again,
// or inside a batch from an earlier record, nothing.
func TestApplyDeltasOfOneRecordInParts(t *testing.T) {
	ctx := context.Background()
	healthy, db, table := storetest.New(t)
	faulty := store.New(&lostBetweenParts{DynamoDB: db}, table)
	d := wide(10, 1100)
	if n := store.DeltaItems(d); n <= store.MaxDeltaItems {
		t.Fatalf("the delta takes %d items: it must need more than a transaction's %d", n, store.MaxDeltaItems)
	}
	read := func() experiment.Aggregates {
		t.Helper()
		g, err := healthy.ReadAggregates(ctx, "wide")
		if err != nil {
			t.Fatal(err)
		}
		return g.NonZero()
	}
	deltas := map[string]experiment.Aggregates{"wide": d}
	at := time.Now().UTC()

	if _, _, err := faulty.ApplyDeltas(ctx, "shard-1", "500", "500", at, deltas); err == nil {
		t.Fatal("the injected loss did not surface")
	}
	if part := read(); len(part.Sums) == 0 || reflect.DeepEqual(part, d.NonZero()) {
		t.Fatalf("after the first part: %d variants' sums, want some but not all", len(part.Sums))
	}
	applied, cp, err := healthy.ApplyDeltas(ctx, "shard-1", "500", "500", at, deltas)
	if err != nil || !applied || cp != "500" {
		t.Fatalf("redelivery: applied %v checkpoint %q %v", applied, cp, err)
	}
	if got := read(); !reflect.DeepEqual(got, d.NonZero()) {
		t.Fatal("counters after the redelivery differ from the record's delta")
	}

	// Delivered again, alone or in a batch from an earlier record: nothing.
	small := experiment.NewAggregates()
	small.Exposed["v00"] = 1
	for _, tc := range []struct {
		first, last string
		deltas      map[string]experiment.Aggregates
	}{{"500", "500", deltas}, {"499", "501", map[string]experiment.Aggregates{"wide": small}}} {
		applied, cp, err := healthy.ApplyDeltas(ctx, "shard-1", tc.first, tc.last, at, tc.deltas)
		if err != nil || applied || cp != "500" {
			t.Fatalf("%s..%s again: applied %v checkpoint %q %v", tc.first, tc.last, applied, cp, err)
		}
	}
	if got := read(); !reflect.DeepEqual(got, d.NonZero()) {
		t.Fatal("a redelivery changed the counters")
	}
	// The next record counts; deltas too big for one transaction from
	// several records are refused (the aggregator splits them).
	if applied, _, err := healthy.ApplyDeltas(ctx, "shard-1", "501", "501", at, map[string]experiment.Aggregates{"wide": small}); err != nil || !applied {
		t.Fatalf("the next record: applied %v %v", applied, err)
	}
	want := d.NonZero()
	want.Add(small)
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Fatal("counters after the next record differ from the sum of the deltas")
	}
	if _, _, err := healthy.ApplyDeltas(ctx, "shard-1", "502", "503", at, deltas); err == nil || !strings.Contains(err.Error(), "split") {
		t.Fatalf("too big a batch of two records: %v", err)
	}
}

// TestCounted: a checkpoint counts every record up to its own, and while a
// record is counted in part ("<seq>/<k>") only those before it.
func TestCounted(t *testing.T) {
	for _, tc := range []struct {
		seq, checkpoint string
		want            bool
	}{
		{"100", "100", true},
		{"99", "100", true},
		{"101", "100", false},
		{"1000", "999", false},
		{"100", "100/000002", false},
		{"99", "100/000002", true},
		{"101", "100/000002", false},
	} {
		if got := store.Counted(tc.seq, tc.checkpoint); got != tc.want {
			t.Errorf("Counted(%q, %q) = %v, want %v", tc.seq, tc.checkpoint, got, tc.want)
		}
	}
}
