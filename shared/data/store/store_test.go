package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

func newExperiment(key string, status experiment.Status) *experiment.Experiment {
	now := time.Now().UTC()
	return &experiment.Experiment{
		Key: key, Name: "Checkout button", Status: status, Coverage: 1, Version: 1,
		Variants: []experiment.Variant{
			{Key: "control", Weight: 50},
			{Key: "treatment", Weight: 50, Payload: json.RawMessage(`{"color":"green","size":1.50}`)},
		},
		CreatedAt: now, UpdatedAt: now, CreatedBy: "test", UpdatedBy: "test",
	}
}

// setStatus changes a status behind the store's back, as another process would.
func setStatus(t *testing.T, db *dynamodb.Client, table, key string, s experiment.Status) {
	t.Helper()
	_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "EXP#" + key}, "sk": &types.AttributeValueMemberS{Value: "DEF"}},
		UpdateExpression:          aws.String("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: string(s)}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExperimentRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, _, _ := storetest.New(t)
	in := newExperiment("checkout", experiment.Active)
	if err := st.CreateExperiment(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetExperiment(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != in.Key || got.Status != in.Status || len(got.Variants) != 2 || got.Coverage != 1 {
		t.Fatalf("got %+v", got)
	}
	// Payloads come back byte for byte (no reordering, 1.50 stays 1.50).
	if string(got.Variants[1].Payload) != `{"color":"green","size":1.50}` || got.Variants[0].Payload != nil {
		t.Fatalf("payloads: %q %q", got.Variants[0].Payload, got.Variants[1].Payload)
	}
	if !got.CreatedAt.Equal(in.CreatedAt) {
		t.Fatalf("created_at %v, want %v", got.CreatedAt, in.CreatedAt)
	}
	// The optional fields: primary event, end time, variant labels.
	labelled := newExperiment("labelled", experiment.Ended)
	labelled.Events, labelled.PrimaryEvent, labelled.EndedAt = []string{"signup"}, "signup", in.CreatedAt.Add(time.Hour)
	labelled.Variants[0].Name, labelled.Variants[0].FlowID = "Control", "flow_a"
	if err := st.CreateExperiment(ctx, labelled); err != nil {
		t.Fatal(err)
	}
	if got, err = st.GetExperiment(ctx, "labelled"); err != nil || got.PrimaryEvent != "signup" || !got.EndedAt.Equal(labelled.EndedAt) ||
		got.Variants[0].Name != "Control" || got.Variants[0].FlowID != "flow_a" || got.Variants[1].Name != "" {
		t.Fatalf("labelled: %+v, %v", got, err)
	}
	if err := st.CreateExperiment(ctx, in); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if _, err := st.GetExperiment(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

// TestConcurrentFirstAssignment: 50 parallel first calls for one user write
// one item, and every caller gets the winner's variant.
func TestConcurrentFirstAssignment(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	if err := st.CreateExperiment(ctx, newExperiment("race", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	const callers = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		seen    = map[string]int{}
	)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Callers propose different variants, as callers with different
			// cached weights would: only the winner's may come back.
			variant := []string{"control", "treatment"}[i%2]
			a, isNew, err := st.CreateAssignment(ctx, "race", experiment.UserUnit("user-1"), variant)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			seen[a.Variant]++
			if isNew {
				created++
			}
		}(i)
	}
	wg.Wait()
	if created != 1 || len(seen) != 1 {
		t.Fatalf("created=%d variants seen=%v; want one creation and one variant", created, seen)
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "USER#user-1"}, ":sk": &types.AttributeValueMemberS{Value: "ASG#"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("%d assignment items, want 1", len(out.Items))
	}
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range agg.Assigned {
		total += n
	}
	if total != 1 {
		t.Fatalf("assigned counters sum to %d, want 1: %v", total, agg.Assigned)
	}
}

// TestRequestPathTouchesOnlyTheUnit: a first assignment, an exposure and a
// converting event write nothing but the unit's own items: no transaction
// with the definition, no counter. DynamoDB Local never reports the
// conflicts shared items cause on DynamoDB, so this is checked by looking
// at every item each call names.
func TestRequestPathTouchesOnlyTheUnit(t *testing.T) {
	ctx := context.Background()
	_, db, table := storetest.New(t)
	seen := storetest.NewPartitions(db)
	st := store.New(seen, table)
	if err := st.CreateExperiment(ctx, newExperiment("exp", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	seen.Reset()
	a, isNew, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit("u1"), "control")
	if err != nil || !isNew {
		t.Fatal(isNew, err)
	}
	if again, isNew, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit("u1"), "treatment"); err != nil || isNew || again.Variant != "control" {
		t.Fatalf("repeat: %+v %v %v", again, isNew, err)
	}
	if _, err := st.RecordEvent(ctx, &experiment.Event{ID: "e1", Unit: experiment.UserUnit("u1"), Name: "purchase", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}, []*experiment.Assignment{a}, storetest.CountAll); err != nil {
		t.Fatal(err)
	}
	a, _ = st.GetAssignment(ctx, "exp", experiment.UserUnit("u1"), true)
	if _, _, err := st.RecordExposure(ctx, a, "control", ""); err != nil {
		t.Fatal(err)
	}
	// An event feeding a live metric adds to the unit's value on its own
	// assignment item, in the same transaction as the event: still no
	// other partition.
	a, _ = st.GetAssignment(ctx, "exp", experiment.UserUnit("u1"), true)
	rev := &metric.Metric{Key: "rev", Type: metric.Sum, Event: "purchase", Property: "amount"}
	if _, err := st.RecordEventFor(ctx, &experiment.Event{ID: "e2", Unit: experiment.UserUnit("u1"), Name: "purchase", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC(),
		Properties: json.RawMessage(`{"amount":12}`)}, store.Convertible{Assignments: []*experiment.Assignment{a}, Counted: storetest.CountAll,
		Metrics: []*metric.Metric{rev}, Measured: func(string) bool { return true }}); err != nil {
		t.Fatal(err)
	}
	if a, _ = st.GetAssignment(ctx, "exp", experiment.UserUnit("u1"), true); a.Values["rev"].X != 12 {
		t.Fatalf("the metric-fed event left value %v on the assignment, want 12", a.Values["rev"].X)
	}
	if other := seen.OtherThan("USER#u1"); len(other) > 0 {
		t.Fatalf("the request path touched items of other partitions: %v", other)
	}
	storetest.Drain(t, table)
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "exp")
	if err != nil || agg.Assigned["control"] != 1 || agg.Exposed["control"] != 1 || agg.Converted["control"]["purchase"] != 1 {
		t.Fatalf("counters from the stream: %+v %v", agg, err)
	}
}

func TestExposureCountsDistinctUsers(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	if err := st.CreateExperiment(ctx, newExperiment("exp", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	for u := 0; u < 3; u++ {
		user := fmt.Sprintf("u%d", u)
		a, _, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit(user), "treatment")
		if err != nil {
			t.Fatal(err)
		}
		// Two users are exposed, one of them three times in parallel.
		if u == 2 {
			continue
		}
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Every caller holds the unexposed state it read: the
				// conditional first-exposure write must count one.
				x, _, err := st.RecordExposure(ctx, a, "control", "")
				if err != nil {
					t.Error(err)
					return
				}
				if x.Variant != "control" || x.AssignedVariant != "treatment" || x.ID == "" {
					t.Errorf("exposure %+v", x)
				}
			}()
		}
		wg.Wait()
	}
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	// Counted by assigned variant (intention to treat), once per user.
	if agg.Exposed["treatment"] != 2 || agg.Exposed["control"] != 0 {
		t.Fatalf("exposed %v, want treatment=2", agg.Exposed)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("begins_with(sk, :x)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: "EXPO#"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 6 {
		t.Fatalf("%d exposure items, want 6 (append-only)", len(out.Items))
	}
	a, err := st.GetAssignment(ctx, "exp", experiment.UserUnit("u0"), true)
	if err != nil || !a.Exposed() {
		t.Fatalf("u0 not marked exposed: %+v %v", a, err)
	}
}

// TestRawItemsExpire: exposure and event items carry the table's TTL
// attribute at their time plus the retention; assignments and counters do
// not expire.
func TestRawItemsExpire(t *testing.T) {
	ctx := context.Background()
	base, db, table := storetest.New(t)
	st := base.WithRetention(30)
	if st.RetentionDays() != 30 || base.RetentionDays() != store.DefaultRetentionDays {
		t.Fatalf("retention %d / %d", st.RetentionDays(), base.RetentionDays())
	}
	if err := st.CreateExperiment(ctx, newExperiment("exp", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	a, _, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit("u1"), "control")
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := st.RecordExposure(ctx, a, "control", "")
	if err != nil {
		t.Fatal(err)
	}
	ev := &experiment.Event{ID: "e1", Unit: experiment.UserUnit("u1"), Name: "purchase", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
	if _, err := st.RecordEvent(ctx, ev, []*experiment.Assignment{a}, storetest.CountAll); err != nil {
		t.Fatal(err)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		sk := it["sk"].(*types.AttributeValueMemberS).Value
		exp, has := it[store.AttrExpiresAt].(*types.AttributeValueMemberN)
		switch {
		case strings.HasPrefix(sk, "EXPO#"):
			if !has || exp.Value != fmt.Sprint(x.ExposedAt.Add(30*24*time.Hour).Unix()) {
				t.Errorf("exposure expires_at %v", it[store.AttrExpiresAt])
			}
		case strings.HasPrefix(sk, "EVT#"):
			if !has || exp.Value != fmt.Sprint(ev.ReceivedAt.Add(30*24*time.Hour).Unix()) {
				t.Errorf("event expires_at %v", it[store.AttrExpiresAt])
			}
		case has:
			t.Errorf("item %s expires", sk)
		}
	}
}
