package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
)

// TestMetricValuesOncePerEvent: an event feeding a metric adds to every
// assignment of its unit once, also when they take more transactions than
// one holds (150 assignments), and a retry of its id adds nothing more.
func TestMetricValuesOncePerEvent(t *testing.T) {
	ctx := context.Background()
	st, _, table := storetest.New(t)
	unit := experiment.UserUnit("many")
	const n = 150
	for i := range n {
		if _, _, err := st.CreateAssignment(ctx, fmt.Sprintf("exp-%03d", i), unit, "a"); err != nil {
			t.Fatal(err)
		}
	}
	rev := &metric.Metric{Key: "rev", Type: metric.Sum, Event: "buy", Property: "amount"}
	record := func(id string) bool {
		t.Helper()
		asg, err := st.UnitAssignments(ctx, unit)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		ev := &experiment.Event{ID: id, Unit: unit, Name: "buy", Timestamp: now, ReceivedAt: now, Properties: json.RawMessage(`{"amount":2.5}`)}
		stored, err := st.RecordEventFor(ctx, ev, store.Convertible{Assignments: asg, Counted: func(string) bool { return false },
			Metrics: []*metric.Metric{rev}, Measured: func(string) bool { return true }})
		if err != nil {
			t.Fatal(err)
		}
		return stored
	}
	check := func(want float64) {
		t.Helper()
		asg, err := st.UnitAssignments(ctx, unit)
		if err != nil {
			t.Fatal(err)
		}
		if len(asg) != n {
			t.Fatalf("%d assignments", len(asg))
		}
		for _, a := range asg {
			if got := a.Values["rev"].X; got != want {
				t.Fatalf("%s holds %v, want %v", a.Experiment, got, want)
			}
		}
	}
	if !record("order-1") {
		t.Fatal("first event not stored")
	}
	check(2.5)
	if record("order-1") {
		t.Fatal("a retry was stored again")
	}
	check(2.5)
	if !record("order-2") {
		t.Fatal("second event not stored")
	}
	check(5)

	// A call that dies after the event's first transaction: the retry of
	// its id finishes the rest, adding nothing twice.
	flaky := &failSecondTransaction{DynamoDB: storetest.Client()}
	fst := store.New(flaky, table)
	asg, err := fst.UnitAssignments(ctx, unit)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ev := &experiment.Event{ID: "order-3", Unit: unit, Name: "buy", Timestamp: now, ReceivedAt: now, Properties: json.RawMessage(`{"amount":1}`)}
	c := store.Convertible{Assignments: asg, Counted: func(string) bool { return false }, Metrics: []*metric.Metric{rev}, Measured: func(string) bool { return true }}
	if stored, err := fst.RecordEventFor(ctx, ev, c); err == nil || !stored {
		t.Fatalf("interrupted call: stored %v, err %v", stored, err)
	}
	if record("order-3") {
		t.Fatal("the retry stored the event again")
	}
	check(6)
	// The unit's daily totals took each event once, with its put.
	if got := dailyTotal(t, table, unit, "rev"); got != 6 {
		t.Fatalf("daily totals of rev %v, want 6", got)
	}
}

// dailyTotal sums a unit's daily totals of a metric, read raw.
func dailyTotal(t *testing.T, table string, unit experiment.UnitRef, key string) float64 {
	t.Helper()
	out, err := storetest.Client().Query(context.Background(), &dynamodb.QueryInput{
		TableName:              aws.String(table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :day)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "USER#" + unit.ID}, ":day": &types.AttributeValueMemberS{Value: "DAY#"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, it := range out.Items {
		if n, ok := it["mx:"+key].(*types.AttributeValueMemberN); ok {
			f, _ := strconv.ParseFloat(n.Value, 64)
			sum += f
		}
	}
	return sum
}

// TestDailyTotalsBesideAStaleMark: an event whose conversion mark fails its
// condition (the unit's assignment was marked since it was read) is tried
// again on the item's current state; the daily totals, written beside the
// event's put in the same transaction, take it once.
func TestDailyTotalsBesideAStaleMark(t *testing.T) {
	ctx := context.Background()
	st, _, table := storetest.New(t)
	unit := experiment.UserUnit("stale")
	if _, _, err := st.CreateAssignment(ctx, "e", unit, "a"); err != nil {
		t.Fatal(err)
	}
	stale, err := st.UnitAssignments(ctx, unit)
	if err != nil {
		t.Fatal(err)
	}
	rev := &metric.Metric{Key: "rev", Type: metric.Sum, Event: "buy", Property: "amount"}
	record := func(id string, asg []*experiment.Assignment, amount string) {
		t.Helper()
		now := time.Now().UTC()
		ev := &experiment.Event{ID: id, Unit: unit, Name: "buy", Timestamp: now, ReceivedAt: now, Properties: json.RawMessage(`{"amount":` + amount + `}`)}
		// Values are not measured here: the mark alone, conditional on its
		// absence, is the conversion update.
		stored, err := st.RecordEventFor(ctx, ev, store.Convertible{Assignments: asg, Counted: storetest.CountAll,
			Metrics: []*metric.Metric{rev}, Measured: func(string) bool { return false }})
		if err != nil || !stored {
			t.Fatalf("%s: stored %v, %v", id, stored, err)
		}
	}
	fresh, err := st.UnitAssignments(ctx, unit)
	if err != nil {
		t.Fatal(err)
	}
	record("first", fresh, "2")
	record("second", stale, "3") // its read predates the first's mark
	if got := dailyTotal(t, table, unit, "rev"); got != 5 {
		t.Fatalf("daily totals %v, want 5", got)
	}
	a, err := st.GetAssignment(ctx, "e", unit, true)
	if err != nil || !a.Converted("buy") || len(a.Values) != 0 {
		t.Fatalf("assignment %+v %v", a, err)
	}
}

// failSecondTransaction fails the second TransactWriteItems it is asked.
type failSecondTransaction struct {
	store.DynamoDB
	calls int
}

func (f *failSecondTransaction) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.calls++
	if f.calls == 2 {
		return nil, errors.New("injected: the call died")
	}
	return f.DynamoDB.TransactWriteItems(ctx, in, o...)
}
