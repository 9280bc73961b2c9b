package amplitudeapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/allroutes/allroutestest"
	"github.com/abtest/abtest/shared/edge/api/amplitudeapi"
	"github.com/abtest/abtest/shared/edge/auth"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	url               string
	store             *store.Store
	counter           *storetest.Counting
	server, clientKey string
}

// setup stores two experiments (one by user, one by device, one targeted)
// and three flags, and serves every route behind the real authorizer, as
// make run does.
func setup(t *testing.T) fixture {
	t.Helper()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	counter := storetest.NewCounting(db)
	st := store.New(counter, table)
	now := time.Now().UTC()
	exp := func(key string, mod func(*experiment.Experiment)) *experiment.Experiment {
		e := &experiment.Experiment{Key: key, Name: key, Status: experiment.Active, Coverage: 1, Version: 1, CreatedAt: now, UpdatedAt: now,
			Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1, Payload: json.RawMessage(`{"color":"green"}`)}}}
		if mod != nil {
			mod(e)
		}
		return e
	}
	premium := func(e *experiment.Experiment) {
		p := experiment.Problems{}
		e.Condition = experiment.CompileCondition(p, []byte(`{"premium":true}`))
		if len(p) > 0 {
			t.Fatal(p)
		}
	}
	allroutestest.Seed(t, st, []*experiment.Experiment{
		exp("hero", nil),
		exp("pricing", func(e *experiment.Experiment) { e.Unit = experiment.UnitDevice }),
		exp("premium-only", premium),
	}, []*flag.Flag{
		allroutestest.Flag(t, "banner", flag.String, `"none"`, `[{"condition":{"premium":true},"value":"gold"}]`),
		allroutestest.Flag(t, "limits", flag.JSON, `{}`, `[{"condition":{"premium":true},"value":{"max":3}}]`),
		allroutestest.Flag(t, "new-nav", flag.Boolean, `false`, `[{"experiment":"hero","values":{"control":false,"treatment":true}}]`),
	})
	server, _ := allroutestest.Key(t, st, apikey.RoleServer)
	client, _ := allroutestest.Key(t, st, apikey.RoleClient)
	return fixture{url: allroutestest.Serve(t, st, auth.SessionConfig{HS256Secret: "test-secret-of-at-least-32-bytes!!"}), store: st, counter: counter, server: server, clientKey: client}
}

// vardata sends Amplitude's documented request: GET /v1/vardata with the
// query and an Authorization: Api-Key header, only the host and key changed.
func (f fixture) vardata(t *testing.T, authorization string, query url.Values, header map[string]string, want int, dst any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+"/v1/vardata?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	allroutestest.Do(t, req, header, want, dst)
}

type variants map[string]amplitudeapi.Variant

// TestVardata: Amplitude's request answers every flag and experiment the
// unit is in, keyed by key, and enrols; a unit in nothing gets {}.
func TestVardata(t *testing.T) {
	f := setup(t)
	auth := "Api-Key " + f.server
	var got variants
	f.vardata(t, auth, url.Values{"user_id": {"alice"}, "device_id": {"dev-1"}, "context": {`{"user_properties":{"premium":true}}`}}, nil, http.StatusOK, &got)
	for _, k := range []string{"hero", "pricing", "premium-only"} {
		v, ok := got[k]
		if !ok || (v.Key != "control" && v.Key != "treatment") {
			t.Fatalf("%s: %+v in %v", k, v, got)
		}
		if want := map[string]string{"control": "", "treatment": `{"color":"green"}`}[v.Key]; string(v.Payload) != want {
			t.Fatalf("%s payload %s, want %q", k, v.Payload, want)
		}
	}
	if got["banner"].Key != "gold" || string(got["banner"].Payload) != `"gold"` {
		t.Fatalf("banner %+v", got["banner"])
	}
	if got["limits"].Key != `{"max":3}` || string(got["limits"].Payload) != `{"max":3}` {
		t.Fatalf("limits %+v", got["limits"])
	}
	if nav, want := got["new-nav"], map[string]string{"control": "false", "treatment": "true"}[got["hero"].Key]; nav.Key != want || string(nav.Payload) != want {
		t.Fatalf("new-nav %+v with hero %s", nav, got["hero"].Key)
	}
	// Enrolled: each experiment's assignment is stored, for the unit of its kind.
	ctx := context.Background()
	for k, u := range map[string]experiment.UnitRef{"hero": experiment.UserUnit("alice"), "pricing": experiment.DeviceUnit("dev-1"), "premium-only": experiment.UserUnit("alice")} {
		a, err := f.store.GetAssignment(ctx, k, u, true)
		if err != nil || a.Variant != got[k].Key {
			t.Fatalf("%s of %v: %+v %v, want %s", k, u, a, err, got[k].Key)
		}
	}

	// flag_keys names flags and experiments alike; without premium the
	// targeted ones (and flags at their default) are left out.
	var named variants
	f.vardata(t, auth, url.Values{"user_id": {"alice"}, "flag_keys": {"hero,banner,premium-only,nope"}}, nil, http.StatusOK, &named)
	if len(named) != 2 || named["hero"].Key != got["hero"].Key {
		t.Fatalf("named %v", named)
	}
	// An unknown unit with no id of an experiment's kind is in nothing it
	// cannot be bucketed for; a unit in nothing gets {}.
	var none map[string]json.RawMessage
	f.vardata(t, auth, url.Values{"device_id": {"dev-2"}, "flag_keys": {"hero,banner"}}, nil, http.StatusOK, &none)
	if len(none) != 0 {
		t.Fatalf("device only, hero and banner: %v", none)
	}
}

// TestNoTrack: X-Amp-Exp-Track: no-track answers what enrolling would
// decide with nothing written; a later tracked call enrols the same variant.
func TestNoTrack(t *testing.T) {
	f := setup(t)
	auth := "Api-Key " + f.server
	q := url.Values{"user_id": {"bob"}, "flag_keys": {"hero,new-nav"}}
	// The key's last use is recorded at most once a minute: by this call.
	f.vardata(t, auth, url.Values{"user_id": {"warm-up"}}, map[string]string{"X-Amp-Exp-Track": "no-track"}, http.StatusOK, nil)
	f.counter.Reset()
	var preview variants
	f.vardata(t, auth, q, map[string]string{"X-Amp-Exp-Track": "no-track"}, http.StatusOK, &preview)
	for op := range f.counter.Calls() {
		if op != "Query" && op != "GetItem" {
			t.Fatalf("no-track made a %s (%v)", op, f.counter.Calls())
		}
	}
	if _, err := f.store.GetAssignment(context.Background(), "hero", experiment.UserUnit("bob"), true); err == nil {
		t.Fatal("no-track stored an assignment")
	}
	// The variant enrolling would give; the flag's experiment rule needs
	// an enrolment, so new-nav is at its default and left out.
	if _, ok := preview["hero"]; !ok || len(preview) != 1 {
		t.Fatalf("no-track answer %v", preview)
	}
	var tracked variants
	f.vardata(t, auth, q, nil, http.StatusOK, &tracked)
	if tracked["hero"].Key != preview["hero"].Key || tracked["new-nav"].Key != map[string]string{"control": "false", "treatment": "true"}[tracked["hero"].Key] {
		t.Fatalf("tracked %v after no-track %v", tracked, preview)
	}
	if a, err := f.store.GetAssignment(context.Background(), "hero", experiment.UserUnit("bob"), true); err != nil || a.Variant != tracked["hero"].Key {
		t.Fatalf("tracked call stored %+v %v", a, err)
	}
}

// TestErrors: 400 for a context that is not JSON (or not an object); 401
// without a valid key, whichever way it is missing; a client key is the
// wrong kind of key.
func TestErrors(t *testing.T) {
	f := setup(t)
	type errBody struct {
		Error struct{ Code string }
	}
	for _, c := range []string{`{"user_properties":`, `[1]`, `{"user_properties":[1]}`, `premium`} {
		var e errBody
		f.vardata(t, "Api-Key "+f.server, url.Values{"user_id": {"alice"}, "context": {c}}, nil, http.StatusBadRequest, &e)
		if e.Error.Code != amplitudeapi.CodeInvalidContext && e.Error.Code != "INVALID_ATTRIBUTES" {
			t.Fatalf("context %s: %+v", c, e)
		}
	}
	// API Gateway refuses a request without the identity source itself.
	f.vardata(t, "", url.Values{"user_id": {"alice"}}, nil, http.StatusUnauthorized, nil)
	for _, a := range []string{"Api-Key abk_nope", "Bearer " + f.server, "Api-Key " + f.server[:len(f.server)-4] + "AAAA"} {
		var e errBody
		f.vardata(t, a, url.Values{"user_id": {"alice"}}, nil, http.StatusUnauthorized, &e)
		if e.Error.Code != "UNAUTHENTICATED" {
			t.Fatalf("%s: %+v", a, e)
		}
	}
	var e errBody
	f.vardata(t, "Api-Key "+f.clientKey, url.Values{"user_id": {"alice"}}, nil, http.StatusForbidden, &e)
	if e.Error.Code != "FORBIDDEN" {
		t.Fatalf("client key: %+v", e)
	}
	// No unit at all is bad input, as on every evaluation route.
	f.vardata(t, "Api-Key "+f.server, url.Values{}, nil, http.StatusBadRequest, nil)
}
