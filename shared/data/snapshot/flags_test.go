package snapshot_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
)

// TestFlagsBoundedAge, against the table: every live flag comes from one
// Query per refresh, conditions compiled and ready to evaluate; within the
// maximum age no call is made; an edit and an archive are served after it.
func TestFlagsBoundedAge(t *testing.T) {
	ctx := context.Background()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	calls := storetest.NewCounting(db)
	st := store.New(db, table)
	clk := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	fs := snapshot.NewFlags(store.New(calls, table), 3*time.Second).WithClock(clk.now)

	p := experiment.Problems{}
	rules := flag.ParseRules(p, "rules", json.RawMessage(`[{"condition":{"country":"FR"},"value":true}]`))
	if len(p) > 0 {
		t.Fatal(p)
	}
	at := clk.now()
	for _, k := range []string{"a", "b"} {
		f := &flag.Flag{Key: k, Type: flag.Boolean, DefaultValue: json.RawMessage("false"), Enabled: true, Rules: rules, Version: 1, CreatedAt: at, UpdatedAt: at}
		if err := st.CreateFlag(ctx, f, store.Change{Version: 1, Action: "create", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := fs.All(ctx)
	if err != nil || len(all) != 2 || calls.Calls()["Query"] != 1 || len(calls.Calls()) != 1 {
		t.Fatalf("all %v (%v), calls %v: want 2 flags from one Query", all, err, calls.Calls())
	}
	if got := all["a"].Evaluate(map[string]any{"id": "u", "country": "FR"}, nil, nil); got.Source != flag.SourceForce {
		t.Fatalf("a flag from the snapshot evaluates to %+v", got)
	}

	b, _ := st.GetFlag(ctx, "b")
	next := *b
	next.Archived, next.Version = true, 2
	if err := st.SaveFlag(ctx, &next, 1, store.Change{Version: 2, Action: "archive", At: at}); err != nil {
		t.Fatal(err)
	}
	calls.Reset()
	clk.add(2 * time.Second)
	if got, err := fs.Get(ctx, "b"); err != nil || got.Key != "b" || len(calls.Calls()) != 0 {
		t.Fatalf("within the age: %v %v, calls %v", got, err, calls.Calls())
	}
	clk.add(time.Second)
	if _, err := fs.Get(ctx, "b"); !fault.HasCode(err, flag.CodeNotFound) || calls.Calls()["Query"] != 1 {
		t.Fatalf("after the age, archived: %v, calls %v", err, calls.Calls())
	}
	if _, err := fs.Get(ctx, "nope"); !fault.HasCode(err, flag.CodeNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// flagSource lists flags as a lagging index may: an archived one included.
type flagSource struct{ all []*flag.Flag }

func (s flagSource) LiveFlags(context.Context) ([]*flag.Flag, error) { return s.all, nil }

func TestFlagsSkipArchived(t *testing.T) {
	fs := snapshot.NewFlags(flagSource{all: []*flag.Flag{{Key: "a"}, {Key: "gone", Archived: true}}}, 0)
	all, err := fs.All(context.Background())
	if err != nil || len(all) != 1 || all["a"] == nil {
		t.Fatalf("all %v %v", all, err)
	}
}
