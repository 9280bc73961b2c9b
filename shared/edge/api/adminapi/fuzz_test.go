package adminapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/erasure"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/keys"
	"github.com/abtest/abtest/shared/usecase/layers"
	"github.com/abtest/abtest/shared/usecase/savedgroups"
)

// The admin handler is fuzzed end to end against fzStore, an in-memory
// Store. A 500 means the handler let a bad input reach the store or failed
// on its own (httpapi.Endpoint turns panics into 500s too): the fake never
// fails except where the real store would answer the documented sentinel
// errors (not found, exists, version conflict, variant in use, bad cursor).

var fzNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const (
	fzAdminKeyID   = "aaaaaaaaaaaaaaaa"
	fzRevokedKeyID = "bbbbbbbbbbbbbbbb"
)

type fzStore struct {
	t        testing.TB
	exps     map[string]*experiment.Experiment
	assigned map[string]map[string]int64 // experiment -> variant -> users
	history  map[string][]store.Change
	keys     map[string]*store.APIKey
	layers   map[string]*layer.Layer
	groups   map[string]*savedgroup.Group
}

// The fuzzed store holds no unit items: an erasure finds nothing.
func (s *fzStore) EraseUnit(context.Context, experiment.UnitRef) (store.Erased, error) {
	return store.Erased{}, nil
}
func (s *fzStore) RecordErasure(context.Context, *store.ErasureAudit) error { return nil }
func (s *fzStore) ListErasures(context.Context, int, string) (store.Page[store.ErasureAudit], error) {
	return store.Page[store.ErasureAudit]{}, nil
}

func fzExp(key string, status experiment.Status, version int64, payload string) *experiment.Experiment {
	e := &experiment.Experiment{Key: key, Name: "Name of " + key, Status: status, Coverage: 1, Version: version,
		CreatedAt: fzNow.Add(-time.Hour), UpdatedAt: fzNow.Add(-time.Minute), CreatedBy: fzAdminKeyID, UpdatedBy: fzAdminKeyID,
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
	if payload != "" {
		e.Variants[1].Payload = json.RawMessage(payload)
	}
	return e
}

// newFzStore holds one experiment per status; active-exp has assignments.
func newFzStore(t testing.TB) *fzStore {
	s := &fzStore{t: t, exps: map[string]*experiment.Experiment{}, assigned: map[string]map[string]int64{},
		history: map[string][]store.Change{}, keys: map[string]*store.APIKey{}}
	for _, e := range []*experiment.Experiment{
		fzExp("draft-exp", experiment.Draft, 1, ""),
		fzExp("active-exp", experiment.Active, 3, `{"color":"green","size":1.50}`),
		fzExp("paused-exp", experiment.Paused, 4, ""),
		fzExp("ended-exp", experiment.Ended, 5, `[1,"x",null]`),
		fzExp("archived-exp", experiment.Archived, 6, ""),
	} {
		s.exps[e.Key] = e
		for v := int64(1); v <= e.Version; v++ {
			s.history[e.Key] = append(s.history[e.Key], store.Change{Version: v, Action: "update", By: fzAdminKeyID, At: fzNow, Details: json.RawMessage(`{"a":1}`)})
		}
	}
	s.assigned["active-exp"] = map[string]int64{"control": 10, "treatment": 12}
	s.groups = map[string]*savedgroup.Group{
		"fz-group": {Key: "fz-group", Name: "Group", Values: []any{"u1", 2.0}, Size: 2, Version: 2, CreatedAt: fzNow, UpdatedAt: fzNow},
	}
	// draft-exp holds the upper half of fz-layer.
	s.exps["draft-exp"].Layer = &experiment.LayerSlice{Key: "fz-layer", Start: 0.5, End: 1}
	s.layers = map[string]*layer.Layer{
		"fz-layer": {Key: "fz-layer", Name: "Layer", Version: 3, CreatedAt: fzNow, UpdatedAt: fzNow,
			Holders: []layer.Holder{{Experiment: "draft-exp", Status: experiment.Draft, Start: 0.5, End: 1}}},
		"gone-layer": {Key: "gone-layer", Name: "Gone", Archived: true, Version: 2, CreatedAt: fzNow, UpdatedAt: fzNow},
	}
	s.keys[fzAdminKeyID] = &store.APIKey{ID: fzAdminKeyID, Name: "ops", Role: "admin", Hash: strings.Repeat("0", 64), CreatedAt: fzNow, CreatedBy: "cli", LastUsedAt: fzNow}
	s.keys[fzRevokedKeyID] = &store.APIKey{ID: fzRevokedKeyID, Name: "old", Role: "client", Hash: strings.Repeat("1", 64), CreatedAt: fzNow, CreatedBy: fzAdminKeyID, RevokedAt: fzNow}
	return s
}

func fzCopy(e *experiment.Experiment) *experiment.Experiment {
	c := *e
	c.Variants = append([]experiment.Variant(nil), e.Variants...)
	return &c
}

// fzValidDefinition reports what is wrong with a definition the handler
// wants stored ("" if nothing): everything input.go promises to enforce.
func fzValidDefinition(e *experiment.Experiment) string {
	switch {
	case !experiment.ValidKey(e.Key):
		return "invalid key"
	case strings.TrimSpace(e.Name) == "" || utf8.RuneCountInString(e.Name) > experiment.MaxNameLen || !utf8.ValidString(e.Name):
		return "invalid name"
	case utf8.RuneCountInString(e.Description) > experiment.MaxDescriptionLen || !utf8.ValidString(e.Description):
		return "invalid description"
	case len(e.Variants) < 2 || len(e.Variants) > experiment.MaxVariants:
		return "variant count"
	case !e.Status.Valid():
		return "status"
	}
	seen := map[string]bool{}
	for _, v := range e.Variants {
		switch {
		case !experiment.ValidKey(v.Key) || seen[v.Key]:
			return "variant key " + v.Key
		case math.IsNaN(v.Weight) || math.IsInf(v.Weight, 0) || v.Weight < 0:
			return "weight"
		case v.Payload != nil && (!json.Valid(v.Payload) || len(v.Payload) > experiment.MaxPayloadBytes || string(v.Payload) == "null"):
			return "payload"
		}
		seen[v.Key] = true
	}
	return ""
}

func (s *fzStore) GetExperiment(_ context.Context, key string) (*experiment.Experiment, error) {
	e, ok := s.exps[key]
	if !ok {
		return nil, fmt.Errorf("get experiment %q: %w", key, store.ErrNotFound)
	}
	return fzCopy(e), nil
}

func (s *fzStore) CreateExperiment(_ context.Context, e *experiment.Experiment, layers ...store.LayerWrite) error {
	if msg := fzValidDefinition(e); msg != "" || e.Version != 1 || (e.Status != experiment.Draft && e.Status != experiment.Active) {
		s.t.Errorf("CreateExperiment got an invalid experiment (%s): %+v", msg, e)
	}
	if _, ok := s.exps[e.Key]; ok {
		return fmt.Errorf("create experiment %q: %w", e.Key, store.ErrExists)
	}
	if err := s.writeLayers(layers); err != nil {
		return err
	}
	s.exps[e.Key] = fzCopy(e)
	s.history[e.Key] = []store.Change{{Version: 1, Action: "create", By: e.CreatedBy, At: e.CreatedAt}}
	return nil
}

// writeLayers applies layer writes as the store's transaction would: each
// on condition that its layer is live at the version read; a write must
// never leave overlapping slices.
func (s *fzStore) writeLayers(writes []store.LayerWrite) error {
	for _, w := range writes {
		l, ok := s.layers[w.Key]
		if !ok || l.Archived || l.Version != w.Version {
			return fmt.Errorf("layer %q: %w", w.Key, store.ErrLayerChanged)
		}
		for i, h := range w.Holders {
			if _, overlap := layer.Overlapping(w.Holders[i+1:], h); overlap {
				s.t.Errorf("overlapping slices written to %s: %+v", w.Key, w.Holders)
			}
		}
	}
	for _, w := range writes {
		l := s.layers[w.Key]
		l.Holders, l.Version = w.Holders, l.Version+1
	}
	return nil
}

func (s *fzStore) CreateSavedGroup(_ context.Context, g *savedgroup.Group) error {
	s.checkGroup(g)
	if _, ok := s.groups[g.Key]; ok {
		return fmt.Errorf("create saved group %q: %w", g.Key, store.ErrExists)
	}
	c := *g
	s.groups[g.Key] = &c
	return nil
}

// checkGroup fails the test for a group the store would be asked to hold
// against the documented limits.
func (s *fzStore) checkGroup(g *savedgroup.Group) {
	if _, p := savedgroup.New(g.Key, g.Name, g.Values); len(p) > 0 || g.Size != len(g.Values) {
		s.t.Errorf("saved group written against the rules (%v): %+v", p, g.Key)
	}
}

func (s *fzStore) GetSavedGroup(_ context.Context, key string) (*savedgroup.Group, error) {
	g, ok := s.groups[key]
	if !ok {
		return nil, fmt.Errorf("get saved group %q: %w", key, store.ErrNotFound)
	}
	c := *g
	return &c, nil
}

func (s *fzStore) ListSavedGroups(_ context.Context, limit int, cursor string) (store.Page[*savedgroup.Group], error) {
	if err := s.checkPage(limit, cursor); err != nil {
		return store.Page[*savedgroup.Group]{}, err
	}
	var out store.Page[*savedgroup.Group]
	for _, g := range s.groups {
		if len(out.Items) < limit {
			c := *g
			c.Values = nil
			out.Items = append(out.Items, &c)
		}
	}
	return out, nil
}

func (s *fzStore) SaveSavedGroup(_ context.Context, g *savedgroup.Group, prev int64) error {
	s.checkGroup(g)
	cur, ok := s.groups[g.Key]
	switch {
	case !ok:
		return &store.SavedGroupConflictError{}
	case cur.Version != prev || g.Version != prev+1:
		return &store.SavedGroupConflictError{Current: cur.Version}
	}
	c := *g
	s.groups[g.Key] = &c
	return nil
}

func (s *fzStore) DeleteSavedGroup(_ context.Context, key string) error {
	if _, ok := s.groups[key]; !ok {
		return fmt.Errorf("delete saved group %q: %w", key, store.ErrNotFound)
	}
	delete(s.groups, key)
	return nil
}

func (s *fzStore) GetLayer(_ context.Context, key string) (*layer.Layer, error) {
	l, ok := s.layers[key]
	if !ok {
		return nil, fmt.Errorf("get layer %q: %w", key, store.ErrNotFound)
	}
	c := *l
	return &c, nil
}

func (s *fzStore) CreateLayer(_ context.Context, l *layer.Layer) error {
	if len(layer.CheckNew(l)) > 0 {
		s.t.Errorf("CreateLayer got an invalid layer: %+v", l)
	}
	if _, ok := s.layers[l.Key]; ok {
		return fmt.Errorf("create layer %q: %w", l.Key, store.ErrExists)
	}
	c := *l
	s.layers[l.Key] = &c
	return nil
}

func (s *fzStore) ListLayers(_ context.Context, limit int, cursor string) (store.Page[*layer.Layer], error) {
	if err := s.checkPage(limit, cursor); err != nil {
		return store.Page[*layer.Layer]{}, err
	}
	var out store.Page[*layer.Layer]
	for _, l := range s.layers {
		if !l.Archived && len(out.Items) < limit {
			c := *l
			out.Items = append(out.Items, &c)
		}
	}
	return out, nil
}

func (s *fzStore) ArchiveLayer(_ context.Context, key string, at time.Time, by string) error {
	if !experiment.ValidKey(key) {
		s.t.Errorf("ArchiveLayer with key %q", key)
	}
	l, ok := s.layers[key]
	switch {
	case !ok || l.Archived:
		return fmt.Errorf("archive layer %q: %w", key, store.ErrNotFound)
	case len(l.Holders) > 0:
		return &store.LayerNotEmptyError{Holders: l.Holders}
	}
	l.Archived, l.Version, l.UpdatedAt, l.UpdatedBy = true, l.Version+1, at, by
	return nil
}

func (s *fzStore) SaveExperiment(_ context.Context, e, prev *experiment.Experiment, change store.Change, layers ...store.LayerWrite) error {
	if msg := fzValidDefinition(e); msg != "" || e.Key != prev.Key || e.Version != prev.Version+1 || change.Version != e.Version || !json.Valid(change.Details) {
		s.t.Errorf("SaveExperiment got an invalid change (%s): %+v from %+v, %+v", msg, e, prev, change)
	}
	cur, ok := s.exps[e.Key]
	if !ok || cur.Version != prev.Version {
		var c *experiment.Experiment
		if ok {
			c = fzCopy(cur)
		}
		return fmt.Errorf("save experiment %q: %w", e.Key, &store.VersionConflictError{Current: c})
	}
	for _, v := range prev.Variants {
		if _, kept := e.Variant(v.Key); !kept && prev.Status != experiment.Draft {
			s.t.Errorf("a started experiment lost variant %q", v.Key)
		}
	}
	if err := s.writeLayers(layers); err != nil {
		return err
	}
	s.exps[e.Key] = fzCopy(e)
	s.history[e.Key] = append(s.history[e.Key], change)
	return nil
}

func (s *fzStore) checkPage(limit int, cursor string) error {
	if limit < 1 || limit > MaxLimit {
		s.t.Errorf("listing with limit %d", limit)
	}
	if cursor != "" {
		return store.ErrBadCursor
	}
	return nil
}

func (s *fzStore) ListExperiments(_ context.Context, status experiment.Status, limit int, cursor string) (store.Page[*experiment.Experiment], error) {
	if status != "" && (!status.Valid() || status == experiment.Archived) {
		s.t.Errorf("ListExperiments with status %q", status)
	}
	if err := s.checkPage(limit, cursor); err != nil {
		return store.Page[*experiment.Experiment]{}, err
	}
	var out store.Page[*experiment.Experiment]
	keys := make([]string, 0, len(s.exps))
	for k := range s.exps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := s.exps[k]
		if e.Status == experiment.Archived || (status != "" && e.Status != status) {
			continue
		}
		if len(out.Items) == limit {
			out.Next = "next-page"
			break
		}
		out.Items = append(out.Items, fzCopy(e))
	}
	return out, nil
}

func (s *fzStore) StatusCounts(context.Context) (map[experiment.Status]int64, error) {
	out := map[experiment.Status]int64{}
	for _, e := range s.exps {
		out[e.Status]++
	}
	return out, nil
}

func (s *fzStore) History(_ context.Context, key string, limit int, cursor string) (store.Page[store.Change], error) {
	if err := s.checkPage(limit, cursor); err != nil {
		return store.Page[store.Change]{}, err
	}
	h := s.history[key]
	var out store.Page[store.Change]
	for i := len(h) - 1; i >= 0; i-- {
		if len(out.Items) == limit {
			out.Next = "next-page"
			break
		}
		out.Items = append(out.Items, h[i])
	}
	return out, nil
}

func (s *fzStore) ReadAggregates(_ context.Context, key string) (experiment.Aggregates, error) {
	agg := experiment.Aggregates{Assigned: map[string]int64{}, Exposed: map[string]int64{}, Converted: map[string]map[string]int64{}}
	for v, n := range s.assigned[key] {
		agg.Assigned[v] = n
	}
	return agg, nil
}

// GetMetric: the fuzzed requests name no metric that exists.
func (s *fzStore) GetMetric(_ context.Context, key string) (*metric.Metric, error) {
	return nil, fmt.Errorf("metric %q: %w", key, store.ErrNotFound)
}

func (s *fzStore) CreateAPIKey(_ context.Context, k *store.APIKey) error {
	if !apikey.ValidKeyID(k.ID) || (k.Role != "admin" && k.Role != "client") || strings.TrimSpace(k.Name) == "" ||
		utf8.RuneCountInString(k.Name) > experiment.MaxNameLen || !utf8.ValidString(k.Name) || len(k.Hash) != 64 {
		s.t.Errorf("CreateAPIKey got an invalid key: %+v", k)
	}
	if _, ok := s.keys[k.ID]; ok {
		return fmt.Errorf("create API key %q: %w", k.ID, store.ErrExists)
	}
	c := *k
	s.keys[k.ID] = &c
	return nil
}

func (s *fzStore) ListAPIKeys(_ context.Context, limit int, cursor string) (store.Page[*store.APIKey], error) {
	if err := s.checkPage(limit, cursor); err != nil {
		return store.Page[*store.APIKey]{}, err
	}
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out store.Page[*store.APIKey]
	for _, id := range ids {
		if len(out.Items) == limit {
			out.Next = "next-page"
			break
		}
		c := *s.keys[id]
		out.Items = append(out.Items, &c)
	}
	return out, nil
}

func (s *fzStore) RevokeAPIKey(_ context.Context, id string, at time.Time) (*store.APIKey, error) {
	if !apikey.ValidKeyID(id) {
		s.t.Errorf("RevokeAPIKey with id %q", id)
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("revoke API key %q: %w", id, store.ErrNotFound)
	}
	if !k.Revoked() {
		k.RevokedAt = at
	}
	c := *k
	return &c, nil
}

var (
	_ experiments.Store = (*fzStore)(nil)
	_ keys.Store        = (*fzStore)(nil)
	_ layers.Store      = (*fzStore)(nil)
	_ savedgroups.Store = (*fzStore)(nil)
)

// LiveExperiments serves the definitions snapshot.
func (s *fzStore) LiveExperiments(ctx context.Context) ([]*experiment.Experiment, error) {
	var out []*experiment.Experiment
	for key := range s.exps {
		e, err := s.GetExperiment(ctx, key)
		if err != nil {
			return nil, err
		}
		if e.Status != experiment.Archived {
			out = append(out, e)
		}
	}
	return out, nil
}

// fzServe runs one request through a fresh handler and store.
func fzServe(t *testing.T, req httpapi.Request) (httpapi.Response, *fzStore) {
	t.Helper()
	st := newFzStore(t)
	now := func() time.Time { return fzNow }
	h := New(slog.New(slog.NewTextHandler(io.Discard, nil)), experiments.New(snapshot.New(st, 0), st, now), keys.New(st, now), erasure.New(st, now),
		Targeting{Layers: layers.New(st, now), Groups: savedgroups.New(st, now)})
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	return resp, st
}

// fzCheckResponse asserts what every answer must be: one of the allowed
// statuses (never a 500), a JSON body (none for 204), and on errors the
// API's error body with a code, a message and a details object.
func fzCheckResponse(t *testing.T, req httpapi.Request, resp httpapi.Response, allowed ...int) {
	t.Helper()
	if resp.StatusCode == http.StatusInternalServerError {
		t.Fatalf("500 for %s key=%q query=%q base64=%v body=%q: %s", req.RouteKey, req.PathParameters["key"], req.QueryStringParameters, req.IsBase64Encoded, req.Body, resp.Body)
	}
	ok := false
	for _, s := range allowed {
		ok = ok || s == resp.StatusCode
	}
	if !ok {
		t.Fatalf("status %d (want one of %v) for %s body=%q: %s", resp.StatusCode, allowed, req.RouteKey, req.Body, resp.Body)
	}
	if resp.StatusCode == http.StatusNoContent {
		if resp.Body != "" {
			t.Fatalf("204 with a body %q", resp.Body)
		}
		return
	}
	if resp.Headers["content-type"] != "application/json" || !json.Valid([]byte(resp.Body)) {
		t.Fatalf("status %d with headers %v and a body that is not JSON: %q", resp.StatusCode, resp.Headers, resp.Body)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error *struct {
				Code    string          `json:"code"`
				Message string          `json:"message"`
				Details json.RawMessage `json:"details"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" ||
			!bytes.HasPrefix(e.Error.Details, []byte("{")) {
			t.Fatalf("error %d without the error body: %s", resp.StatusCode, resp.Body)
		}
	}
}

func fzErrorCode(resp httpapi.Response) string {
	var e httpapitest.ErrorBody
	_ = json.Unmarshal([]byte(resp.Body), &e)
	return e.Error.Code
}

// fzBody returns the request body as sent: base64-encoded when asked.
func fzBody(body string, b64 bool) string {
	if b64 {
		return base64.StdEncoding.EncodeToString([]byte(body))
	}
	return body
}

var fzCreateSeeds = []string{
	`{"key":"new-exp","name":"New","variants":[{"key":"control","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"new-exp","name":"New","description":"d","status":"active","variants":[{"key":"control","weight":50,"payload":{"color":"blue"}},{"key":"b","weight":50,"payload":[1, 2 ,3]},{"key":"c","weight":0,"payload":null}]}`,
	`{"key":"draft-exp","name":"Exists","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"archived-exp","name":"Archived keys are never reused","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":1},{"key":"a","weight":1}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":-1},{"key":"b","weight":"NaN"},{"key":"c","weight":1e999},{"key":"d","weight":null}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":1e308},{"key":"b","weight":1e308}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":0},{"key":"b","weight":0}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":5e-324},{"key":"b","weight":1, "extra":true}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":1}]}`,
	`{"key":"x","name":"n","variants":[]}`, `{"key":"x","name":"n","variants":{}}`, `{"key":"x","name":"n","variants":null}`,
	`{"key":"x","name":"n","variants":[null,1,"a",[],{}]}`, `{"key":"x","name":"n","variants":"ab"}`,
	`{"key":"X","name":"   ","variants":[{"key":"_a","weight":1},{"key":"B","weight":1}]}`,
	`{"key":null,"name":null,"description":null,"status":null,"variants":[{"key":null,"weight":null,"payload":null},{"key":1,"weight":true}]}`,
	`{"key":"x","name":"n","status":"archived","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"n","status":"paused","unknown":1,"variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	"{\"key\":\"x\",\"name\":\"\xff\xfe\",\"description\":\"\\ud800\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"payload\":\"\xff\"},{\"key\":\"b\",\"weight\":1}]}",
	`{"key":"x","name":"ü日本😀","variants":[{"key":"a","weight":1,"payload":` + strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600) + `},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"n","variants":[{"key":"a","weight":1,"payload":"` + strings.Repeat("p", experiment.MaxPayloadBytes) + `"},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"` + strings.Repeat("n", experiment.MaxNameLen+1) + `","description":"` + strings.Repeat("日", experiment.MaxDescriptionLen+1) + `","variants":[]}`,
	`{"key":"x","name":"n","variants":[` + strings.Repeat(`{"key":"v","weight":1},`, experiment.MaxVariants) + `{"key":"w","weight":1}]}`,
	``, ` `, `null`, `[]`, `"x"`, `1`, `{`, `{}`, `{"key":"x"}{}`, `{"key":"x"} x`, `{"key":"x","key":"y"}`,
	`{"key":"x","name":"n","layer":{"key":"fz-layer","start":0,"end":0.5},"variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"n","layer":{"key":"fz-layer","start":0.25,"end":0.75},"variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"n","layer":{"key":"gone-layer","start":0,"end":1},"variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
	`{"key":"x","name":"n","layer":{"key":"missing","start":0,"end":1},"variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`,
}

// FuzzParseCreate: a create body is either refused with 400 INVALID_JSON or
// VALIDATION_FAILED (naming fields), or yields a definition that satisfies
// every documented limit.
func FuzzParseCreate(f *testing.F) {
	for _, s := range fzCreateSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseCreate(body)
		if err != nil {
			fzCheckParseError(t, body, err)
			return
		}
		e := &experiment.Experiment{Key: in.Key, Name: in.Name, Description: in.Description, Variants: in.Variants, Status: in.Status}
		if msg := fzValidDefinition(e); msg != "" || (e.Status != experiment.Draft && e.Status != experiment.Active) {
			t.Fatalf("parseCreate(%q) accepted an invalid definition (%s): %+v", body, msg, e)
		}
		if _, err := json.Marshal(viewOf(e, nil)); err != nil {
			t.Fatalf("the view of %+v does not encode: %v", e, err)
		}
	})
}

func fzCheckParseError(t *testing.T, body []byte, err error) {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid {
		t.Fatalf("error %v for %q: want a 400 fault", err, body)
	}
	switch e.Code {
	case fault.CodeInvalidJSON:
	case fault.CodeValidationFailed:
		if fields, ok := e.Details["fields"].(map[string]string); !ok || len(fields) == 0 {
			t.Fatalf("VALIDATION_FAILED without fields: %+v", e)
		}
	default:
		t.Fatalf("code %s for %q", e.Code, body)
	}
}

var fzPatchSeeds = []string{
	`{"version":1,"name":"Renamed"}`, `{"version":1,"description":""}`, `{"version":1,"description":null}`,
	`{"version":3,"variants":[{"key":"control","weight":1},{"key":"treatment","weight":0},{"key":"c","weight":2,"payload":{"x":1}}]}`,
	`{"version":3,"variants":[{"key":"control","weight":1},{"key":"other","weight":1}]}`,
	`{"version":3,"variants":[{"key":"treatment","weight":1},{"key":"control","weight":1}]}`,
	`{"version":2,"name":"stale"}`, `{"version":1}`, `{"version":0,"name":"x"}`, `{"version":-1,"name":"x"}`,
	`{"version":1.5,"name":"x"}`, `{"version":"1","name":"x"}`, `{"version":1e3,"name":"x"}`, `{"version":9223372036854775807,"name":"x"}`,
	`{"version":9223372036854775808,"name":"x"}`, `{"version":null,"name":"x"}`, `{"name":"x"}`, `{"version":1,"name":""}`,
	`{"version":1,"name":null}`, `{"version":1,"variants":null}`, `{"version":1,"variants":[]}`, `{"version":1,"key":"other"}`,
	`{"version":1,"status":"active"}`, "{\"version\":1,\"name\":\"\xc0\x80\"}", ``, `null`, `[]`, `{}`, `{"version":1}{}`,
}

// fzLayerPatchSeeds move, clear and claim slices of fz-layer, whose upper
// half draft-exp holds.
var fzLayerPatchSeeds = []string{
	`{"version":1,"layer":{"key":"fz-layer","start":0,"end":0.6}}`, `{"version":1,"layer":null}`,
	`{"version":1,"layer":{"key":"gone-layer","start":0,"end":0.5}}`, `{"version":3,"layer":{"key":"fz-layer","start":0,"end":0.5}}`,
}

// FuzzParsePatch: an update body is refused with 400, or yields a version
// and at least one valid change.
func FuzzParsePatch(f *testing.F) {
	for _, s := range fzPatchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parsePatch(body)
		if err != nil {
			fzCheckParseError(t, body, err)
			return
		}
		if p.Version < 1 || (p.Name == nil && p.Description == nil && p.Variants == nil && p.Events == nil) {
			t.Fatalf("parsePatch(%q) = %+v", body, p)
		}
		e := fzExp("k", experiment.Draft, 1, "")
		if p.Name != nil {
			e.Name = *p.Name
		}
		if p.Description != nil {
			e.Description = *p.Description
		}
		if p.Variants != nil {
			e.Variants = experiments.Provisional(p.Variants)
		}
		if msg := fzValidDefinition(e); msg != "" {
			t.Fatalf("parsePatch(%q) accepted an invalid change (%s): %+v", body, msg, p)
		}
	})
}

// FuzzAdminCreate: POST /v1/admin/experiments end to end.
func FuzzAdminCreate(f *testing.F) {
	for _, s := range fzCreateSeeds {
		f.Add(s, false)
	}
	f.Add(fzCreateSeeds[0], true)
	f.Add("not base64", true)
	f.Add(strings.Repeat(" ", httpapi.MaxBodyBytes)+"{}", false)
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		req := httpapitest.AdminRequest(routes.AdminCreate, "", fzBody(body, b64))
		req.IsBase64Encoded = b64
		resp, st := fzServe(t, req)
		fzCheckResponse(t, req, resp, http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge)
		switch resp.StatusCode {
		case http.StatusCreated:
			var v ExperimentView
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || st.exps[v.Key] == nil || v.Version != 1 || len(v.Variants) < 2 || !v.Variants[0].IsControl {
				t.Fatalf("201 %s", resp.Body)
			}
		case http.StatusConflict:
			if code := fzErrorCode(resp); code != experiment.CodeExists && code != layer.CodeRangeOverlap {
				t.Fatalf("409 %s", resp.Body)
			}
		}
	})
}

// FuzzAdminUpdate: PATCH /v1/admin/experiments/{key} end to end.
func FuzzAdminUpdate(f *testing.F) {
	for _, s := range fzPatchSeeds {
		for _, k := range []string{"draft-exp", "active-exp"} {
			f.Add(k, s, false)
		}
	}
	for _, k := range []string{"archived-exp", "paused-exp", "missing", "", "Bad", "a/b", "\xff", strings.Repeat("k", 65)} {
		f.Add(k, fzPatchSeeds[0], false)
	}
	for _, s := range fzLayerPatchSeeds {
		for _, k := range []string{"draft-exp", "active-exp"} {
			f.Add(k, s, false)
		}
	}
	f.Add("draft-exp", fzPatchSeeds[0], true)
	f.Add("draft-exp", "%%%", true)
	f.Fuzz(func(t *testing.T, key, body string, b64 bool) {
		req := httpapitest.AdminRequest(routes.AdminUpdate, key, fzBody(body, b64))
		req.IsBase64Encoded = b64
		before := newFzStore(t).exps[key]
		resp, st := fzServe(t, req)
		fzCheckResponse(t, req, resp, http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge)
		if resp.StatusCode == http.StatusOK {
			var v ExperimentView
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || before == nil || v.Version != before.Version+1 ||
				st.exps[key].Version != v.Version || st.exps[key].Variants[0].Key != before.Variants[0].Key {
				t.Fatalf("200 %s", resp.Body)
			}
		}
	})
}

// FuzzAdminList: GET /v1/admin/experiments?status=&limit=&cursor=.
func FuzzAdminList(f *testing.F) {
	for _, s := range []string{"", "draft", "active", "paused", "ended", "archived", "DRAFT", "x", "\xff"} {
		f.Add(s, "", "", true, false, false)
	}
	for _, l := range []string{"1", "2", "20", "100", "101", "0", "-1", "+5", "05", " 5", "5 ", "1.5", "1e2", "0x10", "NaN", "99999999999999999999", "", "٣"} {
		f.Add("", l, "", false, true, false)
	}
	for _, c := range []string{"", "next-page", "eyJwayI6IngifQ", "\x00", "%"} {
		f.Add("", "", c, false, false, true)
	}
	f.Add("active", "1", "", true, true, true)
	f.Fuzz(func(t *testing.T, status, limit, cursor string, hasStatus, hasLimit, hasCursor bool) {
		req := httpapitest.AdminRequest(routes.AdminList, "", "")
		req.QueryStringParameters = fzQuery(map[string]string{"status": status, "limit": limit, "cursor": cursor}, hasStatus, hasLimit, hasCursor)
		resp, _ := fzServe(t, req)
		fzCheckResponse(t, req, resp, http.StatusOK, http.StatusBadRequest)
		if resp.StatusCode != http.StatusOK {
			return
		}
		var out ListResponse
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.Experiments == nil {
			t.Fatalf("200 %s", resp.Body)
		}
		for _, e := range out.Experiments {
			if e.Status == experiment.Archived || (hasStatus && status != "" && string(e.Status) != status) {
				t.Fatalf("listed %s for status=%q", e.Status, status)
			}
		}
		if _, ok := out.Totals[experiment.Archived]; ok {
			t.Fatalf("totals count archived experiments: %v", out.Totals)
		}
	})
}

func fzQuery(q map[string]string, has ...bool) map[string]string {
	names := []string{"status", "limit", "cursor"}
	if len(has) == 2 {
		names = names[1:]
	}
	out := map[string]string{}
	for i, n := range names {
		if has[i] {
			out[n] = q[n]
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// FuzzAdminHistory: GET /v1/admin/experiments/{key}/history?limit=&cursor=.
func FuzzAdminHistory(f *testing.F) {
	for _, k := range []string{"draft-exp", "active-exp", "archived-exp", "missing", "", "A", "\xff"} {
		f.Add(k, "", "", false, false)
	}
	for _, l := range []string{"1", "100", "101", "0", "-5", "x", ""} {
		f.Add("active-exp", l, "", true, false)
	}
	f.Add("active-exp", "2", "next-page", true, true)
	f.Add("active-exp", "", "", false, true)
	f.Fuzz(func(t *testing.T, key, limit, cursor string, hasLimit, hasCursor bool) {
		req := httpapitest.AdminRequest(routes.AdminHistory, key, "")
		req.QueryStringParameters = fzQuery(map[string]string{"limit": limit, "cursor": cursor}, hasLimit, hasCursor)
		resp, _ := fzServe(t, req)
		fzCheckResponse(t, req, resp, http.StatusOK, http.StatusBadRequest, http.StatusNotFound)
		if resp.StatusCode == http.StatusOK {
			var out HistoryResponse
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.History == nil {
				t.Fatalf("200 %s", resp.Body)
			}
		}
	})
}

// FuzzAdminAPIKeys: POST, GET and DELETE /v1/admin/api-keys end to end.
func FuzzAdminAPIKeys(f *testing.F) {
	for _, b := range []string{`{"name":"app","role":"client"}`, `{"name":"ops","role":"admin"}`, `{"name":"x","role":"root"}`,
		`{"name":"","role":"client"}`, `{"name":"  ","role":"admin"}`, `{"name":null,"role":null}`, `{"name":1,"role":["admin"]}`,
		`{"name":"x","role":"Admin"}`, `{"name":"x","role":"client","extra":1}`, `{"name":"` + strings.Repeat("n", experiment.MaxNameLen+1) + `","role":"client"}`,
		"{\"name\":\"\xff\",\"role\":\"client\"}", `{"role":"client"}`, ``, `null`, `[]`, `{`} {
		f.Add(uint8(0), b, false, "", "", "", false, false)
	}
	f.Add(uint8(0), `{"name":"app","role":"client"}`, true, "", "", "", false, false)
	for _, id := range []string{fzAdminKeyID, fzRevokedKeyID, "cccccccccccccccc", "", "AAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaa", "\xff"} {
		f.Add(uint8(2), "", false, id, "", "", false, false)
	}
	for _, l := range []string{"1", "100", "101", "0", "x"} {
		f.Add(uint8(1), "", false, "", l, "", true, false)
	}
	f.Add(uint8(1), "", false, "", "", "next-page", false, true)
	f.Fuzz(func(t *testing.T, op uint8, body string, b64 bool, id, limit, cursor string, hasLimit, hasCursor bool) {
		var req httpapi.Request
		var allowed []int
		switch op % 3 {
		case 0:
			req = httpapitest.AdminRequest(routes.AdminCreateKey, "", fzBody(body, b64))
			req.IsBase64Encoded = b64
			allowed = []int{http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge}
		case 1:
			req = httpapitest.AdminRequest(routes.AdminListKeys, "", "")
			req.QueryStringParameters = fzQuery(map[string]string{"limit": limit, "cursor": cursor}, hasLimit, hasCursor)
			allowed = []int{http.StatusOK, http.StatusBadRequest}
		default:
			req = httpapitest.AdminRequest(routes.AdminRevokeKey, "", "")
			req.PathParameters["id"] = id
			allowed = []int{http.StatusNoContent, http.StatusNotFound}
		}
		resp, st := fzServe(t, req)
		fzCheckResponse(t, req, resp, allowed...)
		if resp.StatusCode == http.StatusCreated {
			var v KeyView
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
				t.Fatal(err)
			}
			id, ok := apikey.ParseKeyID(v.Key)
			if !ok || id != v.ID || st.keys[id] == nil || st.keys[id].Hash != apikey.HashKey(v.Key) || (v.Role != "admin" && v.Role != "client") {
				t.Fatalf("201 %s", resp.Body)
			}
		}
	})
}

// FuzzAdminRoutes: the routes on one experiment without a body (read,
// lifecycle, archive), and unknown route keys, with any {key}.
func FuzzAdminRoutes(f *testing.F) {
	perKey := []routes.Route{routes.AdminGet, routes.AdminArchive, routes.AdminStart, routes.AdminPause, routes.AdminResume, routes.AdminEnd, routes.AdminHistory,
		routes.AdminGetLayer, routes.AdminArchiveLayer, routes.AdminGetSavedGroup, routes.AdminDeleteSavedGroup}
	other := uint8(len(perKey))
	for op := uint8(0); op < other; op++ {
		for _, k := range []string{"draft-exp", "active-exp", "paused-exp", "ended-exp", "archived-exp", "fz-layer", "gone-layer", "fz-group", "missing", "", "-x", "a b"} {
			f.Add(op, k, "")
		}
	}
	for _, rk := range []string{"", "GET /", "GET /v1/admin/experiments/{key}/results", "get /v1/admin/experiments", "POST /v1/admin/experiments/{key}/restart", routes.AdminGet.Key() + " "} {
		f.Add(other, "draft-exp", rk)
	}
	f.Add(other, "draft-exp", routes.AdminGet.Key())
	known := map[string]bool{}
	for _, r := range routes.All {
		if r.Function == routes.Admin {
			known[r.Key()] = true
		}
	}
	f.Fuzz(func(t *testing.T, op uint8, key, routeKey string) {
		var req httpapi.Request
		if int(op) < len(perKey) {
			req = httpapitest.AdminRequest(perKey[op], key, "")
		} else {
			req = httpapitest.AdminRequest(routes.AdminGet, key, "")
			req.RouteKey, req.RequestContext.RouteKey = routeKey, routeKey
		}
		resp, _ := fzServe(t, req)
		if int(op) >= len(perKey) && !known[routeKey] {
			fzCheckResponse(t, req, resp, http.StatusNotFound)
			if fzErrorCode(resp) != fault.CodeNotFound {
				t.Fatalf("unknown route %q: %s", routeKey, resp.Body)
			}
			return
		}
		fzCheckResponse(t, req, resp, http.StatusOK, http.StatusCreated, http.StatusNoContent, http.StatusBadRequest, http.StatusNotFound,
			http.StatusConflict, http.StatusRequestEntityTooLarge)
	})
}
