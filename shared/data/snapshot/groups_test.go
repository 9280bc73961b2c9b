package snapshot_test

import (
	"context"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

type groupsEnv struct {
	t     *testing.T
	st    *store.Store
	db    *dynamodb.Client
	table string
	calls *storetest.Counting
	clk   *clock
	g     *snapshot.Groups
}

func newGroupsEnv(t *testing.T, maxAge time.Duration) *groupsEnv {
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	calls := storetest.NewCounting(db)
	clk := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	return &groupsEnv{t: t, st: store.New(db, table), db: db, table: table, calls: calls, clk: clk,
		g: snapshot.NewGroups(store.New(calls, table), maxAge).WithClock(clk.now)}
}

// all reads the groups and the DynamoDB calls it made.
func (e *groupsEnv) all() (conditions.SavedGroups, map[string]int) {
	e.t.Helper()
	e.calls.Reset()
	groups, err := e.g.All(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return groups, e.calls.Calls()
}

func (e *groupsEnv) put(key string, version int64, values ...any) {
	e.t.Helper()
	g := &savedgroup.Group{Key: key, Name: key, Values: values, Size: len(values), Version: version}
	var err error
	if version == 1 {
		err = e.st.CreateSavedGroup(context.Background(), g)
	} else {
		err = e.st.SaveSavedGroup(context.Background(), g, version-1)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func wantCalls(t *testing.T, got map[string]int, want map[string]int) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DynamoDB calls %v, want %v", got, want)
	}
}

// The cache is replaced whole at a bounded age, and a refresh that finds
// nothing changed costs one small read: the groups are queried (once) only
// when the revision moved.
func TestGroupsRefresh(t *testing.T) {
	e := newGroupsEnv(t, 3*time.Second)
	groups, calls := e.all()
	if len(groups) != 0 {
		t.Fatalf("groups %v", groups)
	}
	wantCalls(t, calls, map[string]int{"GetItem": 1, "Query": 1})
	_, calls = e.all()
	wantCalls(t, calls, map[string]int{})

	// Unchanged: one revision read per maximum age.
	e.clk.add(3 * time.Second)
	_, calls = e.all()
	wantCalls(t, calls, map[string]int{"GetItem": 1})

	// A change is seen after at most the maximum age.
	e.put("beta", 1, "u1", 2.0)
	if groups, calls = e.all(); len(groups) != 0 || len(calls) != 0 {
		t.Fatalf("within the age: %v, %v", groups, calls)
	}
	e.clk.add(3 * time.Second)
	groups, calls = e.all()
	wantCalls(t, calls, map[string]int{"GetItem": 1, "Query": 1})
	if want := (conditions.SavedGroups{"beta": {"u1", 2.0}}); !reflect.DeepEqual(groups, want) {
		t.Fatalf("groups %v, want %v", groups, want)
	}

	// Replaced values, then a deletion.
	e.put("beta", 2, "u3")
	e.put("staff", 1, "ann")
	e.clk.add(3 * time.Second)
	if groups, _ = e.all(); !reflect.DeepEqual(groups, conditions.SavedGroups{"beta": {"u3"}, "staff": {"ann"}}) {
		t.Fatalf("groups %v", groups)
	}
	if err := e.st.DeleteSavedGroup(context.Background(), "beta"); err != nil {
		t.Fatal(err)
	}
	e.clk.add(3 * time.Second)
	if groups, _ = e.all(); !reflect.DeepEqual(groups, conditions.SavedGroups{"staff": {"ann"}}) {
		t.Fatalf("groups after delete %v", groups)
	}

	// Conditions evaluate against what All returns.
	cond, err := conditions.Compile([]byte(`{"id":{"$inGroup":"staff"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !cond.Eval(map[string]any{"id": "ann"}, groups) || cond.Eval(map[string]any{"id": "bob"}, groups) {
		t.Fatal("$inGroup on the cached groups")
	}
}

// Requests that find the cache too old wait for one refresh: one revision
// read and at most one query, however many arrive at once.
func TestGroupsOneRefreshAtATime(t *testing.T) {
	e := newGroupsEnv(t, 3*time.Second)
	e.put("beta", 1, "u1")
	e.calls.Reset()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if groups, err := e.g.All(context.Background()); err != nil || len(groups["beta"]) != 1 {
				t.Errorf("All: %v, %v", groups, err)
			}
		}()
	}
	wg.Wait()
	wantCalls(t, e.calls.Calls(), map[string]int{"GetItem": 1, "Query": 1})
}

// A group whose write was in flight while the query ran keeps its previous
// members, and the next refresh queries again even if the revision did not
// move; once the write is whole, the new members are served.
func TestGroupsTornWrite(t *testing.T) {
	e := newGroupsEnv(t, 3*time.Second)
	e.put("beta", 1, "u1")
	e.all()
	// The head of version 2 without its chunks, and no revision change:
	// what the query can see halfway through a replacing transaction.
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	put := func(it map[string]types.AttributeValue) {
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	put(map[string]types.AttributeValue{"pk": s("SAVEDGROUPS"), "sk": s("G#beta"), "key": s("beta"), "name": s("beta"),
		"version": n("2"), "size": n("1"), "chunks": n("1")})
	e.put("other", 1, "x") // moves the revision
	e.clk.add(3 * time.Second)
	groups, _ := e.all()
	if !reflect.DeepEqual(groups, conditions.SavedGroups{"beta": {"u1"}, "other": {"x"}}) {
		t.Fatalf("torn group not kept at its previous members: %v", groups)
	}
	// The write completes behind the revision's back.
	put(map[string]types.AttributeValue{"pk": s("SAVEDGROUPS"), "sk": s("V#beta#000"), "key": s("beta"), "version": n("2"), "values": s(`["u2"]`)})
	e.clk.add(3 * time.Second)
	groups, calls := e.all()
	wantCalls(t, calls, map[string]int{"GetItem": 1, "Query": 1})
	if !reflect.DeepEqual(groups["beta"], []any{"u2"}) {
		t.Fatalf("after the write completed: %v", groups)
	}
}

// With no maximum age, every call queries (tests and tools that must see
// every change at once).
func TestGroupsNoCache(t *testing.T) {
	e := newGroupsEnv(t, 0)
	e.put("beta", 1, "u1")
	for range 2 {
		groups, calls := e.all()
		wantCalls(t, calls, map[string]int{"Query": 1})
		if len(groups["beta"]) != 1 {
			t.Fatalf("groups %v", groups)
		}
	}
}
