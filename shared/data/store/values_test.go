package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
