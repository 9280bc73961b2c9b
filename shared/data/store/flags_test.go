package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/flag"
)

func newFlag(t *testing.T, key string, at time.Time) *flag.Flag {
	t.Helper()
	p := experiment.Problems{}
	rules := flag.ParseRules(p, "rules", json.RawMessage(`[{"condition":{"country":"FR"},"value":{"b":[1,2.50]}},{"coverage":0.25,"value":{"a":1},"hash_attribute":"company"}]`))
	if len(p) > 0 {
		t.Fatal(p)
	}
	return &flag.Flag{Key: key, Description: "d", Type: flag.JSON, DefaultValue: json.RawMessage(`{"z":1,"a":2}`), Enabled: true, Rules: rules,
		Version: 1, CreatedAt: at, UpdatedAt: at, CreatedBy: "k1", UpdatedBy: "k1"}
}

func TestFlagRoundTripAndVersions(t *testing.T) {
	ctx := context.Background()
	st, _, _ := storetest.New(t)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	f := newFlag(t, "checkout", at)
	if err := st.CreateFlag(ctx, f, store.Change{Version: 1, Action: "create", By: "k1", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateFlag(ctx, f, store.Change{Version: 1, Action: "create", By: "k1", At: at}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	got, err := st.GetFlag(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	wantRules, _ := flag.MarshalRules(f.Rules)
	gotRules, _ := flag.MarshalRules(got.Rules)
	if string(gotRules) != string(wantRules) || string(got.DefaultValue) != `{"z":1,"a":2}` || !got.Enabled || got.Type != flag.JSON ||
		got.Version != 1 || !got.CreatedAt.Equal(at) || got.CreatedBy != "k1" || got.Description != "d" {
		t.Fatalf("read back %+v rules %s", got, gotRules)
	}
	if _, err := st.GetFlag(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown flag: %v", err)
	}

	next := *got
	next.Enabled, next.Version = false, 2
	if err := st.SaveFlag(ctx, &next, 1, store.Change{Version: 2, Action: "update", By: "k2", At: at}); err != nil {
		t.Fatal(err)
	}
	stale := *got
	stale.Version = 2
	err = st.SaveFlag(ctx, &stale, 1, store.Change{Version: 2, Action: "update", By: "k3", At: at})
	var conflict *store.FlagConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, store.ErrVersionConflict) || conflict.Current == nil || conflict.Current.Version != 2 {
		t.Fatalf("stale save: %v", err)
	}
	hist, err := st.FlagHistory(ctx, "checkout", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 2 || hist.Items[0].Action != "update" || hist.Items[0].By != "k2" || hist.Items[1].Action != "create" {
		t.Fatalf("history %+v", hist.Items)
	}
}

// Listing pages through live flags newest first; archived ones leave the
// listing and the live set, and keep their key.
func TestFlagListingAndLive(t *testing.T) {
	ctx := context.Background()
	st, _, _ := storetest.New(t)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for i, k := range []string{"a", "b", "c"} {
		f := newFlag(t, k, at.Add(time.Duration(i)*time.Second))
		if err := st.CreateFlag(ctx, f, store.Change{Version: 1, Action: "create", By: "k", At: f.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := st.GetFlag(ctx, "b")
	arch := *b
	arch.Archived, arch.Version = true, 2
	if err := st.SaveFlag(ctx, &arch, 1, store.Change{Version: 2, Action: "archive", By: "k", At: at}); err != nil {
		t.Fatal(err)
	}
	first, err := st.ListFlags(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	second, err := st.ListFlags(ctx, 5, first.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 1 || first.Items[0].Key != "c" || len(second.Items) != 1 || second.Items[0].Key != "a" || second.Next != "" {
		t.Fatalf("pages %v / %v", keysOf(first.Items), keysOf(second.Items))
	}
	if _, err := st.ListFlags(ctx, 5, "bogus"); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	live, err := st.LiveFlags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(live); len(got) != 2 || got[0] != "c" || got[1] != "a" {
		t.Fatalf("live %v", got)
	}
	if got, err := st.GetFlag(ctx, "b"); err != nil || !got.Archived {
		t.Fatalf("archived flag read back %+v, %v", got, err)
	}
}

func keysOf(fs []*flag.Flag) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}
