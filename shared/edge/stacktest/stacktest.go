// Package stacktest runs the whole service in a test: every route behind the
// local gateway and the authorizer, on a fresh table of the test binary's
// DynamoDB Local (dltest.Main), with an admin key, a client key, a server
// key and session tokens. Every response the gateway sends is checked against
// docs/openapi.yaml (apispectest), so a test driving the stack over HTTP
// (the CLI's, the MCP server's, the spec's own) proves the document too.
package stacktest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/apispec/apispectest"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/keys"
)

// sessionSecret signs the stack's session tokens (HS256); signingSecret
// derives server keys' signing tokens (ABetterChoice's signed requests).
const (
	sessionSecret = "stacktest-session-secret-0123456789abcdef"
	signingSecret = "stacktest-signing-secret-0123456789abcdef"
)

// Stack is the service running in-process.
type Stack struct {
	URL       string
	AdminKey  string
	ClientKey string
	ServerKey string
	Table     string
	Store     *store.Store
	Deps      lambdafn.Deps
	t         testing.TB
	signed    int   // signatures made, each a second apart (see Signed)
	signedAt  int64 // the unix second the first signature was made at
}

// Start runs the stack until the test ends. Definitions are read fresh on
// every request (no snapshot age), so a test sees its own changes at once.
func Start(t testing.TB) *Stack {
	t.Helper()
	_, db, table := storetest.New(t)
	deps := lambdafn.New(slog.New(slog.DiscardHandler), db, config.Config{Table: table, DefinitionsMaxAge: 0})
	gw, err := allroutes.Gateway(deps, auth.SessionConfig{HS256Secret: sessionSecret, SigningSecret: signingSecret}, gateway.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(apispectest.Serve(t, gw))
	t.Cleanup(srv.Close)
	s := &Stack{URL: srv.URL, Table: table, Store: deps.Store, Deps: deps, t: t}
	ctx := context.Background()
	if s.AdminKey, _, err = keys.Issue(ctx, deps.Store, "stacktest admin", apikey.RoleAdmin, "stacktest", time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.ClientKey, _, err = keys.Issue(ctx, deps.Store, "stacktest client", apikey.RoleClient, "stacktest", time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.ServerKey, _, err = keys.Issue(ctx, deps.Store, "stacktest server", apikey.RoleServer, "stacktest", time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Token is a session token for user.
func (s *Stack) Token(user string) string {
	s.t.Helper()
	tok, err := auth.MintHS256(sessionSecret, user, time.Hour, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// Drain counts what the table's stream holds now, as the deployed
// aggregator would: call it before reading results.
func (s *Stack) Drain() {
	s.t.Helper()
	storetest.Drain(s.t, s.Table)
}

// Client is the headers of a client call for user.
func (s *Stack) Client(user string) http.Header {
	return http.Header{"X-Api-Key": {s.ClientKey}, "Authorization": {"Bearer " + s.Token(user)}}
}

// Send makes one client API call for user, as the application makes it,
// failing the test on any answer but a 2xx.
func (s *Stack) Send(user, method, path, body string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header = s.Client(user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
}

// Signed is the headers of an ABetterChoice call signed with the server
// key (X-Ak, X-Et, X-Es). Each call is signed a second earlier than the one
// before, counted from the first call's second (not from now: two calls a
// second apart would otherwise sign the same second), so no two are the
// same signed request (the edge serves each once).
func (s *Stack) Signed() http.Header {
	s.t.Helper()
	ak, ok := apikey.ParseKeyID(s.ServerKey)
	if !ok {
		s.t.Fatalf("server key %q has no id", s.ServerKey)
	}
	if s.signed == 0 {
		s.signedAt = time.Now().Unix()
	}
	s.signed++
	et := strconv.FormatInt(s.signedAt-int64(s.signed), 10)
	return http.Header{"X-Ak": {ak}, "X-Et": {et}, "X-Es": {apikey.Signature(apikey.SigningToken(signingSecret, ak), ak, et)}}
}

// Admin is the headers of an admin call.
func (s *Stack) Admin() http.Header { return http.Header{"X-Api-Key": {s.AdminKey}} }

// Server is the headers of a server call (a backend's: no session).
func (s *Stack) Server() http.Header { return http.Header{"X-Api-Key": {s.ServerKey}} }
