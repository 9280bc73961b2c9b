package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// seedUnits stores n units of experiment key: every unit assigned, every
// second one exposed, every third one sending a "purchase" and a "signup".
func seedUnits(t *testing.T, st *store.Store, key string, n int) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateExperiment(ctx, newExperiment(key, experiment.Active)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		user := fmt.Sprintf("%s-u%04d", key, i)
		variant := []string{"control", "treatment"}[i%2]
		a, _, err := st.CreateAssignment(ctx, key, experiment.UserUnit(user), variant)
		if err != nil {
			t.Fatal(err)
		}
		if i%4 < 2 {
			if _, _, err := st.RecordExposure(ctx, a, variant, ""); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 {
			asg, _ := st.UnitAssignments(ctx, experiment.UserUnit(user))
			for _, name := range []string{"purchase", "signup"} {
				now := time.Now().UTC()
				ev := &experiment.Event{ID: user + name, Unit: experiment.UserUnit(user), Name: name, Timestamp: now, ReceivedAt: now}
				counted := storetest.CountAll // only purchase is declared when they arrive
				if name == "signup" {
					counted = func(string) bool { return false }
				}
				if _, err := st.RecordEvent(ctx, ev, asg, counted); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// blockingScans holds the first Scan until release, then fails it (fail) or
// lets it go on.
type blockingScans struct {
	store.DynamoDB
	once    sync.Once
	entered chan struct{}
	release chan struct{}
	fail    atomic.Bool
}

func (b *blockingScans) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	first := false
	b.once.Do(func() { first = true; close(b.entered) })
	if first {
		<-b.release
	}
	if b.fail.Load() {
		return nil, errors.New("injected: the call died")
	}
	return b.DynamoDB.Scan(ctx, in, o...)
}

// dyingScans fails every Scan from the nth on, as a call cut off would.
type dyingScans struct {
	store.DynamoDB
	n, calls atomic.Int64
}

func (d *dyingScans) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	if d.calls.Add(1) >= d.n.Load() {
		return nil, errors.New("injected: the call died")
	}
	return d.DynamoDB.Scan(ctx, in, o...)
}

// A recount whose call failed part way, then run in short steps, goes on
// from its checkpoints and ends with the same counts as one run from
// scratch; a second caller while one runs is refused, not run twice.
func TestRecountResumes(t *testing.T) {
	ctx := context.Background()
	defer store.SetRecountPageItems(16)()
	st, db, table := storetest.New(t)
	seedUnits(t, st, "resume", 240)
	storetest.Drain(t, table)
	live, err := st.ReadAggregates(ctx, "resume")
	if err != nil {
		t.Fatal(err)
	}

	dying := &dyingScans{DynamoDB: db}
	dying.n.Store(12)
	cut := store.New(dying, table)
	if _, err := cut.RecountStep(ctx, "resume", []string{"purchase"}, false, time.Time{}); err == nil {
		t.Fatal("the injected failure did not stop the recount")
	}
	// While a call runs the job, another is refused rather than run twice.
	blocking := &blockingScans{DynamoDB: db, entered: make(chan struct{}), release: make(chan struct{})}
	held := make(chan error, 1)
	go func() {
		_, err := store.New(blocking, table).RecountStep(ctx, "resume", []string{"purchase"}, false, time.Time{})
		held <- err
	}()
	<-blocking.entered
	if _, err := st.RecountStep(ctx, "resume", []string{"purchase"}, false, time.Time{}); !errors.Is(err, store.ErrRecountBusy) {
		t.Fatalf("a recount under a live lease: %v, want ErrRecountBusy", err)
	}
	blocking.fail.Store(true)
	close(blocking.release)
	if err := <-held; err == nil {
		t.Fatal("the held call did not fail")
	}
	var p store.RecountProgress
	steps := 0
	for !p.Done {
		if p, err = st.RecountStep(ctx, "resume", []string{"purchase"}, false, time.Now()); err != nil {
			t.Fatal(err)
		}
		steps++
		if steps > 500 {
			t.Fatal("the recount makes no progress")
		}
	}
	if steps < 2 {
		t.Errorf("the recount finished in %d step(s) with no time: steps do not stop", steps)
	}
	if !reflect.DeepEqual(p.Totals.NonZero(), live.NonZero()) || p.Units != 240 {
		t.Fatalf("resumed recount %+v (%d units), live %+v", p.Totals, p.Units, live)
	}
	whole, err := st.Recount(ctx, "resume", []string{"purchase"}, false)
	if err != nil || !reflect.DeepEqual(whole.NonZero(), p.Totals.NonZero()) {
		t.Fatalf("a recount from scratch %+v %v, resumed %+v", whole, err, p.Totals)
	}
}

// A name declared after its events arrived: the recount counts it and marks
// the assignments, and the counters end up equal to the recount once the
// stream has delivered the marks (not counted twice), then stay so.
func TestRecountBackfillsADeclaredEventOnce(t *testing.T) {
	ctx := context.Background()
	st, _, table := storetest.New(t)
	seedUnits(t, st, "late", 60)
	storetest.Drain(t, table)
	live, _ := st.ReadAggregates(ctx, "late")
	if n := live.Converted["control"]["signup"] + live.Converted["treatment"]["signup"]; n != 0 {
		t.Fatalf("signup counted before it was declared: %d", n)
	}
	recounted, err := st.Recount(ctx, "late", []string{"purchase", "signup"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := recounted.Converted["control"]["signup"] + recounted.Converted["treatment"]["signup"]; n == 0 {
		t.Fatal("the recount found no signup conversions")
	}
	storetest.Drain(t, table) // the marks reach the aggregator
	after, _ := st.ReadAggregates(ctx, "late")
	if !reflect.DeepEqual(after.NonZero(), recounted.NonZero()) {
		t.Fatalf("counters after the marks %+v, recount %+v", after.NonZero(), recounted.NonZero())
	}
	again, err := st.Recount(ctx, "late", []string{"purchase", "signup"}, false)
	if err != nil || !reflect.DeepEqual(again.NonZero(), recounted.NonZero()) {
		t.Fatalf("second recount %+v %v", again, err)
	}
}

// A written recount keeps the counters the sum the aggregator's deltas
// assume: after an exposure item expired and with a conversion on a name no
// longer declared, recounting and then erasing the unit leaves every
// counter at zero, never below.
func TestRecountKeepsTheSumTheStreamAssumes(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	if err := st.CreateExperiment(ctx, newExperiment("sum", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	a, _, err := st.CreateAssignment(ctx, "sum", experiment.UserUnit("u"), "control")
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := st.RecordExposure(ctx, a, "control", "view-1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	asg, _ := st.UnitAssignments(ctx, experiment.UserUnit("u"))
	if _, err := st.RecordEvent(ctx, &experiment.Event{ID: "e", Unit: experiment.UserUnit("u"), Name: "purchase", Timestamp: now, ReceivedAt: now}, asg, storetest.CountAll); err != nil {
		t.Fatal(err)
	}
	// The exposure item expires (TTL), as it does after RETENTION_DAYS.
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "USER#u"}, "sk": &types.AttributeValueMemberS{Value: "EXPO#sum#" + x.ID}}}); err != nil {
		t.Fatal(err)
	}
	storetest.Drain(t, table)
	live, _ := st.ReadAggregates(ctx, "sum")
	recounted, err := st.Recount(ctx, "sum", nil, true) // purchase no longer declared
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recounted.NonZero(), live.NonZero()) {
		t.Fatalf("recount %+v, live %+v: the recount must count what the items contribute", recounted.NonZero(), live.NonZero())
	}
	if _, err := st.EraseUnit(ctx, experiment.UserUnit("u")); err != nil {
		t.Fatal(err)
	}
	storetest.Drain(t, table)
	after, _ := st.ReadAggregates(ctx, "sum")
	if g := after.NonZero(); len(g.Assigned)+len(g.Exposed)+len(g.Converted) != 0 {
		t.Fatalf("counters after erasing the only unit: %+v", g)
	}
}

// TestRecountJobExpires: a recount left running (its caller gave up) keeps
// no items forever: the job and its checkpoints carry the table's TTL
// attribute, 30 days after the job started.
func TestRecountJobExpires(t *testing.T) {
	ctx := context.Background()
	defer store.SetRecountPageItems(8)()
	st, db, table := storetest.New(t)
	seedUnits(t, st, "abandoned", 40)
	started := time.Now()
	p, err := st.RecountStep(ctx, "abandoned", []string{"purchase"}, false, time.Now())
	if err != nil || p.Done {
		t.Fatalf("a one-page step: %+v %v", p, err)
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "EXP#abandoned#RECOUNT"}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil || len(out.Items) < 2 {
		t.Fatalf("the job's items: %v %v", out, err)
	}
	for _, it := range out.Items {
		n, ok := it[store.AttrExpiresAt].(*types.AttributeValueMemberN)
		var at int64
		if ok {
			_, _ = fmt.Sscan(n.Value, &at)
		}
		if want := started.Add(30 * 24 * time.Hour).Unix(); at < want-60 || at > want+60 {
			t.Errorf("%v expires at %d, want about %d", it[store.AttrSK], at, want)
		}
	}
}
