// Package allroutestest serves every route on a store behind the real
// authorizer, for tests that send requests as a client would (the vendors'
// drop-in routes, with their own credential forms).
package allroutestest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/keys"
)

// Serve serves every route on st as make run does (definitions, groups,
// holdouts and flags in memory) and returns the base URL; the server stops
// with the test.
func Serve(t testing.TB, st *store.Store, session auth.SessionConfig) string {
	t.Helper()
	d := lambdafn.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Definitions: snapshot.New(st, time.Minute),
		Groups: snapshot.NewGroups(st, time.Minute), Holdouts: snapshot.NewHoldouts(st, time.Minute), Flags: snapshot.NewFlags(st, time.Minute), Now: time.Now}
	gw, err := allroutes.Gateway(d, session, gateway.Options{Timeout: 10 * time.Second, AuthorizerCacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Flag is an enabled flag with rules (JSON), version 1.
func Flag(t testing.TB, key string, typ flag.Type, def, rules string) *flag.Flag {
	t.Helper()
	p := experiment.Problems{}
	rs := flag.ParseRules(p, "rules", json.RawMessage(rules))
	if len(p) > 0 {
		t.Fatalf("rules of %s: %v", key, p)
	}
	now := time.Now().UTC()
	return &flag.Flag{Key: key, Type: typ, DefaultValue: json.RawMessage(def), Enabled: true, Rules: rs, Version: 1, CreatedAt: now, UpdatedAt: now}
}

// Seed stores the experiments and the flags.
func Seed(t testing.TB, st *store.Store, exps []*experiment.Experiment, flags []*flag.Flag) {
	t.Helper()
	ctx := context.Background()
	for _, e := range exps {
		if err := st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range flags {
		if err := st.CreateFlag(ctx, f, store.Change{Version: 1, By: "test", At: time.Now().UTC(), Action: "create"}); err != nil {
			t.Fatal(err)
		}
	}
}

// Key issues a key of role: the key itself and as stored.
func Key(t testing.TB, st *store.Store, role apikey.Role) (string, *store.APIKey) {
	t.Helper()
	plain, k, err := keys.Issue(context.Background(), st, string(role)+" key", role, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return plain, k
}

// Do sends req with headers, fails the test unless the status is want, and
// decodes the body into dst (when not nil).
func Do(t testing.TB, req *http.Request, headers map[string]string, want int, dst any) {
	t.Helper()
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL, resp.StatusCode, b, want)
	}
	if dst != nil {
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
}
