package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
)

func TestConversionsCountExposedUsersOnce(t *testing.T) {
	ctx := context.Background()
	st, _, table := storetest.New(t)
	if err := st.CreateExperiment(ctx, newExperiment("exp", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	n := 0
	event := func(user, name string, ts time.Time) bool {
		t.Helper()
		n++
		asg, err := st.UnitAssignments(ctx, experiment.UserUnit(user))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.RecordEvent(ctx, &experiment.Event{ID: fmt.Sprintf("e%d", n), Unit: experiment.UserUnit(user), Name: name, Timestamp: ts, ReceivedAt: time.Now().UTC()}, asg, storetest.CountAll)
		if err != nil {
			t.Fatal(err)
		}
		return stored
	}
	assign := func(user, variant string) *experiment.Assignment {
		t.Helper()
		a, _, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit(user), variant)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	expose := func(user string) {
		t.Helper()
		a, err := st.GetAssignment(ctx, "exp", experiment.UserUnit(user), true)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.RecordExposure(ctx, a, a.Variant, ""); err != nil {
			t.Fatal(err)
		}
	}

	// before: purchased before assignment, exposed -> not converted.
	event("before", "purchase", time.Now().UTC())
	assign("before", "control")
	event("before", "purchase", time.Now().UTC().Add(-time.Hour)) // backdated before assignment
	expose("before")
	// early: purchased after assignment but before exposure -> converted.
	assign("early", "control")
	event("early", "purchase", time.Now().UTC())
	event("early", "purchase", time.Now().UTC()) // twice: one user
	expose("early")
	// late: exposed, then purchased and signed up -> converted on both.
	assign("late", "treatment")
	expose("late")
	expose("late")
	event("late", "purchase", time.Now().UTC())
	event("late", "signup", time.Now().UTC())
	// never: purchased but never exposed -> not counted.
	assign("never", "treatment")
	event("never", "purchase", time.Now().UTC())

	// A retried event id is stored once and counted once.
	asg, _ := st.UnitAssignments(ctx, experiment.UserUnit("late"))
	retry := &experiment.Event{ID: "e1000", Unit: experiment.UserUnit("late"), Name: "refund", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
	if stored, err := st.RecordEvent(ctx, retry, asg, storetest.CountAll); err != nil || !stored {
		t.Fatalf("first: %v %v", stored, err)
	}
	asg, _ = st.UnitAssignments(ctx, experiment.UserUnit("late"))
	if stored, err := st.RecordEvent(ctx, retry, asg, storetest.CountAll); err != nil || stored {
		t.Fatalf("retry stored again: %v %v", stored, err)
	}

	storetest.Drain(t, table)
	live, err := st.ReadAggregates(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int64{
		"control":   {"purchase": 1},
		"treatment": {"purchase": 1, "signup": 1, "refund": 1},
	}
	if !reflect.DeepEqual(live.Converted, want) {
		t.Fatalf("converted %v, want %v", live.Converted, want)
	}
	if live.Exposed["control"] != 2 || live.Exposed["treatment"] != 1 || live.Assigned["control"] != 2 || live.Assigned["treatment"] != 2 {
		t.Fatalf("assigned %v exposed %v", live.Assigned, live.Exposed)
	}
	recounted, err := st.Recount(ctx, "exp", []string{"purchase", "signup", "refund"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recounted.NonZero(), live.NonZero()) {
		t.Fatalf("recount %+v != live %+v", recounted, live)
	}
	after, _ := st.ReadAggregates(ctx, "exp")
	if !reflect.DeepEqual(after.NonZero(), live.NonZero()) {
		t.Fatalf("after writing the recount %+v != %+v", after, live)
	}
}

// TestEventRacingAnAssignment: an event recorded before the user's
// assignment was visible never counts for it, live or in a recount, even
// when its time is after the assignment's.
func TestEventRacingAnAssignment(t *testing.T) {
	ctx := context.Background()
	base, _, table := storetest.New(t)
	t0 := time.Now().UTC()
	st := base.WithClock(func() time.Time { return t0 })
	if err := st.CreateExperiment(ctx, newExperiment("race", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	// The events call read the user's assignments (none yet) ...
	ev := &experiment.Event{ID: "e1", Unit: experiment.UserUnit("u"), Name: "purchase", Timestamp: t0.Add(time.Millisecond), ReceivedAt: t0.Add(time.Millisecond)}
	// ... then the assignment stamped t0 commits, then the event is written.
	a, _, err := st.CreateAssignment(ctx, "race", experiment.UserUnit("u"), "control")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordEvent(ctx, ev, nil, storetest.CountAll); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordExposure(ctx, a, "control", ""); err != nil {
		t.Fatal(err)
	}
	storetest.Drain(t, table)
	live, _ := st.ReadAggregates(ctx, "race")
	recounted, err := st.Recount(ctx, "race", []string{"purchase"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if live.Converted["control"]["purchase"] != 0 || !reflect.DeepEqual(live.NonZero(), recounted.NonZero()) {
		t.Fatalf("live %+v, recount %+v", live, recounted)
	}
}

// failingTransactions fails the nth TransactWriteItems call (1-based).
type failingTransactions struct {
	store.DynamoDB
	n, calls int
}

func (f *failingTransactions) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.calls++
	if f.calls == f.n {
		return nil, fmt.Errorf("injected network failure")
	}
	return f.DynamoDB.TransactWriteItems(ctx, in, o...)
}

// TestChunkedEventRetryFinishes: an event that converts in more
// experiments than one transaction holds, interrupted after its first
// transaction, is reported stored, and its retry (same id) finishes the
// conversions: live counters then equal a recount.
func TestChunkedEventRetryFinishes(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	const experiments = 150 // more conversions than one transaction holds
	for i := 0; i < experiments; i++ {
		key := fmt.Sprintf("exp-%02d", i)
		if err := st.CreateExperiment(ctx, newExperiment(key, experiment.Active)); err != nil {
			t.Fatal(err)
		}
		a, _, err := st.CreateAssignment(ctx, key, experiment.UserUnit("u"), "treatment")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.RecordExposure(ctx, a, a.Variant, ""); err != nil {
			t.Fatal(err)
		}
	}
	flaky := store.New(&failingTransactions{DynamoDB: db, n: 2}, table)
	event := func() *experiment.Event {
		return &experiment.Event{ID: "order-1", Unit: experiment.UserUnit("u"), Name: "purchase", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
	}
	asg, _ := st.UnitAssignments(ctx, experiment.UserUnit("u"))
	stored, err := flaky.RecordEvent(ctx, event(), asg, storetest.CountAll)
	if err == nil || !stored {
		t.Fatalf("interrupted event: stored=%v err=%v, want stored with an error", stored, err)
	}
	asg, _ = st.UnitAssignments(ctx, experiment.UserUnit("u"))
	if stored, err := st.RecordEvent(ctx, event(), asg, storetest.CountAll); err != nil || stored {
		t.Fatalf("retry: stored=%v err=%v, want a duplicate", stored, err)
	}
	storetest.Drain(t, table)
	// A recount scans the whole table: check a spread of the experiments
	// across both transactions.
	for i := 0; i < experiments; i += 13 {
		key := fmt.Sprintf("exp-%02d", i)
		live, _ := st.ReadAggregates(ctx, key)
		recounted, err := st.Recount(ctx, key, []string{"purchase"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if live.Converted["treatment"]["purchase"] != 1 || !reflect.DeepEqual(live.NonZero(), recounted.NonZero()) {
			t.Fatalf("%s: live %+v, recount %+v", key, live, recounted)
		}
	}
}

// interfering assigns one more user the first time the recount scans the
// table, as live traffic would.
type interfering struct {
	store.DynamoDB
	once   sync.Once
	during func()
}

func (c *interfering) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	out, err := c.DynamoDB.Scan(ctx, in, o...)
	c.once.Do(c.during)
	return out, err
}

// TestRecountNeverOverwritesAConcurrentWrite: the aggregator counting a
// change while a recount runs makes the recount's swap refuse and retry, so
// the counters end up including the change once.
func TestRecountNeverOverwritesAConcurrentWrite(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	if err := st.CreateExperiment(ctx, newExperiment("rc", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, _, err := st.CreateAssignment(ctx, "rc", experiment.UserUnit(fmt.Sprintf("u%d", i)), "control"); err != nil {
			t.Fatal(err)
		}
	}
	storetest.Drain(t, table) // a recount is exact once the aggregator has caught up
	racing := store.New(&interfering{DynamoDB: db, during: func() {
		if _, _, err := st.CreateAssignment(ctx, "rc", experiment.UserUnit("late"), "control"); err != nil {
			t.Error(err)
		}
		storetest.Drain(t, table)
	}}, table)
	recounted, err := racing.Recount(ctx, "rc", []string{"purchase"}, true)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Drain(t, table)
	live, _ := st.ReadAggregates(ctx, "rc")
	if live.Assigned["control"] != 6 || recounted.Assigned["control"] != 6 {
		t.Fatalf("live %v, recount %v; want 6 assigned (the late one included)", live.Assigned, recounted.Assigned)
	}
}
