// Package reliability tests the whole service in-process — the same
// authorizer, handlers and local gateway as `make run`, over HTTP — against a
// real DynamoDB Local, under stress and failure. The tests prove that:
//
//   - sticky assignment holds under races: 200 concurrent first calls over
//     20 users x 5 experiments write exactly one assignment per pair, every
//     answer for a pair is the same, and the counters are exact;
//   - a DynamoDB outage is answered with the documented 5xx codes, no
//     request hangs past the gateway's timeout, and afterwards every write
//     the service acknowledged is stored exactly once, no assignment changed
//     variant and the live counters equal a recount. Two faults, each
//     mid-workload: DynamoDB Local stopped (SIGTERM) and restarted on the
//     same port and data; and DynamoDB Local frozen (SIGSTOP) for 6 s, then
//     resumed (SIGCONT), the hard fault. Not SIGKILL: DynamoDB Local
//     acknowledges a TransactWriteItems before its commit reaches disk (a
//     SIGKILL right after the answer lost 8 or 9 of 10 acknowledged
//     transactions, never a plain PutItem), which would test the emulator's
//     durability, not the service's;
//   - a DynamoDB that never answers is bounded the same way;
//   - throttling is retried with backoff up to the configured attempts, then
//     answered with the route's 500 code, never a wrong answer;
//   - a write whose response is lost leaves the service consistent for the
//     client's next call or retry (sticky variant, events stored once, exact
//     counters), and an event arriving while the user's first assignment is
//     being written is judged alike by live counters and a recount;
//   - after a mixed workload the table holds exactly what was acknowledged,
//     every item has a documented shape, exposures carry the user's assigned
//     variant, and results equal counts rebuilt from the test's own record.
//
// They run in plain `go test ./...` (each well under a minute). Liveness is
// checked only as "answered within the gateway timeout + 2 s".
// RELIABILITY_LOG=1 shows the service's warnings and errors.
package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/keys"
)

const (
	sessionSecret = "reliability-session-secret-of-32-bytes-or-more"
	// gatewayTimeout bounds each invocation, like a Lambda timeout.
	gatewayTimeout = 3 * time.Second
	// livenessSlack: a request must answer within gatewayTimeout + this.
	livenessSlack = 2 * time.Second
)

var quiet = logger()

// logger discards the service's logs unless RELIABILITY_LOG=1.
func logger() *slog.Logger {
	if os.Getenv("RELIABILITY_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func TestMain(m *testing.M) {
	// The DynamoDB client comes from the default AWS chain: dummy static
	// credentials and a region, and no profile that could be missing.
	os.Setenv("AWS_REGION", "us-east-1")
	os.Setenv("AWS_ACCESS_KEY_ID", "local")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	os.Unsetenv("AWS_SESSION_TOKEN")
	os.Unsetenv("AWS_PROFILE")
	os.Unsetenv("AWS_DEFAULT_PROFILE")
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: reliability: shared DynamoDB Local: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// shared is one in-memory DynamoDB Local for the tests that do not kill it;
// each test uses its own table.
var shared struct {
	once sync.Once
	srv  *dynamolocal.Server
	err  error
}

func sharedEndpoint(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		// Covers a first-time download plus JVM startup.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared.srv, shared.err = dynamolocal.Start(ctx, dynamolocal.Options{})
	})
	if shared.err != nil {
		t.Fatalf("DynamoDB Local could not start: %v", shared.err)
	}
	return shared.srv.Endpoint()
}

var tableSeq atomic.Int64

func tableName(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 100 {
		name = name[:100]
	}
	return fmt.Sprintf("rel-%s-%d", name, tableSeq.Add(1))
}

// envOptions configure the service under test.
type envOptions struct {
	endpoint string
	// timeout and attempts of the service's DynamoDB client (0 = defaults).
	timeout  time.Duration
	attempts int
	// gatewayTimeout bounds each invocation (0 = gatewayTimeout).
	gatewayTimeout time.Duration
	// wrap, if set, wraps the service's DynamoDB client.
	wrap func(store.DynamoDB) store.DynamoDB
}

// env is the service running in-process behind an HTTP server.
type env struct {
	t        *testing.T
	url      string
	table    string
	endpoint string
	check    *dynamodb.Client // a patient client for setup and verification
	admin    string
	client   string
	http     *http.Client

	mu     sync.Mutex
	tokens map[string]string
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	table := tableName(t)
	cfg := config.Config{Table: table, DefinitionsMaxAge: snapshot.DefaultMaxAge, Endpoint: o.endpoint, DynamoTimeout: o.timeout, DynamoAttempts: o.attempts}
	db, err := cfg.DynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := checkClient(t, o.endpoint)
	if err := store.CreateTable(ctx, check, table); err != nil {
		t.Fatal(err)
	}
	var svcDB store.DynamoDB = db
	if o.wrap != nil {
		svcDB = o.wrap(db)
	}
	deps := lambdafn.New(quiet, svcDB, cfg)
	authz, err := auth.Setup(deps.Logger, deps.Store, auth.SessionConfig{HS256Secret: sessionSecret})
	if err != nil {
		t.Fatal(err)
	}
	if o.gatewayTimeout == 0 {
		o.gatewayTimeout = gatewayTimeout
	}
	gw := gateway.New(gateway.Options{Timeout: o.gatewayTimeout})
	gw.Authorize(authz.Handle)
	for _, r := range routes.All {
		h, err := allroutes.Handler(deps, r.Function)
		if err != nil {
			t.Fatal(err)
		}
		gw.Handle(r, h)
	}
	srv := httptest.NewServer(apispectest.Serve(t, gw))
	t.Cleanup(srv.Close)
	e := &env{
		t: t, url: srv.URL, table: table, endpoint: o.endpoint, check: check, tokens: map[string]string{},
		http: &http.Client{
			// Far above the liveness bound, so a hang is measured, not cut.
			Timeout:   60 * time.Second,
			Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512},
		},
	}
	t.Cleanup(e.http.CloseIdleConnections)
	keyStore := store.New(check, table)
	if e.admin, _, err = keys.Issue(ctx, keyStore, "admin", apikey.RoleAdmin, "reliability", time.Now()); err != nil {
		t.Fatal(err)
	}
	if e.client, _, err = keys.Issue(ctx, keyStore, "client", apikey.RoleClient, "reliability", time.Now()); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkClient is the production client with patient settings, for setup and
// for reading the table afterwards.
func checkClient(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()
	c, err := config.Config{Endpoint: endpoint, DynamoTimeout: 10 * time.Second, DynamoAttempts: 5}.DynamoDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reply is one HTTP exchange.
type reply struct {
	method, path string
	status       int
	body         map[string]any
	raw          string
	err          error
	start, end   time.Time
}

func (r reply) String() string {
	if r.err != nil {
		return fmt.Sprintf("%s %s: %v", r.method, r.path, r.err)
	}
	return fmt.Sprintf("%s %s: %d %s", r.method, r.path, r.status, r.raw)
}

// code is error.code of an error body, or the message of API Gateway's own.
func (r reply) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	m, _ := r.body["message"].(string)
	return m
}

func (r reply) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

func (e *env) do(method, path string, headers map[string]string, body string) reply {
	r := reply{method: method, path: path, start: time.Now()}
	defer func() { r.end = time.Now() }()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		r.err = err
		r.end = time.Now()
		return r
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r.end = time.Now()
	r.status, r.raw = resp.StatusCode, string(raw)
	if err != nil {
		r.err = err
		return r
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			r.err = fmt.Errorf("answer %d %q is not a JSON object", resp.StatusCode, raw)
		}
	}
	return r
}

func (e *env) asAdmin() map[string]string { return map[string]string{"X-Api-Key": e.admin} }

// asUser returns the headers of a client call for user (token minted once).
func (e *env) asUser(user string) map[string]string {
	e.mu.Lock()
	tok, ok := e.tokens[user]
	if !ok {
		var err error
		if tok, err = auth.MintHS256(sessionSecret, user, time.Hour, time.Now()); err != nil {
			e.mu.Unlock()
			e.t.Fatal(err)
		}
		e.tokens[user] = tok
	}
	e.mu.Unlock()
	return map[string]string{"X-Api-Key": e.client, "Authorization": "Bearer " + tok}
}

// createActive defines an active 50/50 experiment through the admin API.
func (e *env) createActive(key string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"key":%q,"name":%q,"status":"active","events":["purchase","checkout","signup","refund"],"variants":[`+
		`{"key":"control","weight":50,"payload":{"v":0}},{"key":"treatment","weight":50,"payload":{"v":1}}]}`, key, key)
	if r := e.do("POST", "/v1/admin/experiments", e.asAdmin(), body); r.err != nil || r.status != http.StatusCreated {
		e.t.Fatalf("create %s: %v", key, r)
	}
}

func otherVariant(v string) string {
	if v == "control" {
		return "treatment"
	}
	return "control"
}

// recountMatches asks for a dry-run recount and reports whether the live
// counters equal the ones rebuilt from the items.
func (e *env) recountMatches(key string) (bool, reply) {
	e.t.Helper()
	e.drain()
	// As a client should: a 202 (progress) or a 409 RECOUNT_RUNNING (a
	// call cut off earlier still holds the job's lease) means call again.
	var r reply
	for attempt := 0; attempt < 60; attempt++ {
		r = e.do("POST", "/v1/admin/experiments/"+key+"/recount?dry_run=true", e.asAdmin(), "")
		if r.err != nil || (r.status != http.StatusAccepted && !(r.status == http.StatusConflict && r.code() == "RECOUNT_RUNNING")) {
			break
		}
		time.Sleep(time.Second)
	}
	if r.err != nil || r.status != http.StatusOK {
		e.t.Fatalf("recount %s: %v", key, r)
	}
	return r.body["matched"] == true, r
}

// assignedCounts reads assigned_count per variant from the admin API.
func (e *env) assignedCounts(key string) map[string]int {
	e.t.Helper()
	e.drain()
	r := e.do("GET", "/v1/admin/experiments/"+key, e.asAdmin(), "")
	if r.err != nil || r.status != http.StatusOK {
		e.t.Fatalf("get %s: %v", key, r)
	}
	out := map[string]int{}
	vs, _ := r.body["variants"].([]any)
	for _, v := range vs {
		m := v.(map[string]any)
		n, _ := m["assigned_count"].(float64)
		out[m["key"].(string)] = int(n)
	}
	return out
}

// drain counts what the table's stream holds, as the deployed aggregator
// would a moment later: counters and results are read after it.
func (e *env) drain() {
	e.t.Helper()
	storetest.DrainAt(e.t, e.endpoint, e.table)
}

// --- reading the table ---

type item = map[string]types.AttributeValue

func scanAll(t *testing.T, db *dynamodb.Client, table string) []item {
	t.Helper()
	var out []item
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}
	for {
		page, err := db.Scan(context.Background(), in)
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil {
			return out
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// queryPrefix reads a user partition's items whose sk starts with prefix.
func queryPrefix(t *testing.T, db *dynamodb.Client, table, pk, prefix string) []item {
	t.Helper()
	var out []item
	in := &dynamodb.QueryInput{
		TableName:              aws.String(table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":p": &types.AttributeValueMemberS{Value: prefix},
		},
		ConsistentRead: aws.Bool(true),
	}
	for {
		page, err := db.Query(context.Background(), in)
		if err != nil {
			t.Fatalf("query %s %s: %v", pk, prefix, err)
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil {
			return out
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func attrS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func attrSS(it item, name string) []string {
	if v, ok := it[name].(*types.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}

// storedTime is the documented fixed-width UTC time format.
var storedTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)

// sameInstant compares a stored time with an RFC 3339 time from an answer.
func sameInstant(stored, answered string) bool {
	a, err1 := time.Parse(time.RFC3339Nano, stored)
	b, err2 := time.Parse(time.RFC3339Nano, answered)
	return err1 == nil && err2 == nil && a.Equal(b)
}

// documentedKey reports whether a key has one of the shapes listed in
// docs/data-model.md.
func documentedKey(pk, sk string) bool {
	switch {
	case strings.HasPrefix(pk, "EXP#") && strings.Contains(pk[len("EXP#"):], "#AGG#"):
		_, shard, _ := strings.Cut(pk[len("EXP#"):], "#AGG#")
		return sk == "AGG" && regexp.MustCompile(`^(0\d|1[0-5])$`).MatchString(shard)
	case strings.HasPrefix(pk, "EXP#"):
		return sk == "DEF" || regexp.MustCompile(`^HIST#\d{12}$`).MatchString(sk)
	case strings.HasPrefix(pk, "USER#"):
		return strings.HasPrefix(sk, "ASG#") || strings.HasPrefix(sk, "EXPO#") || strings.HasPrefix(sk, "EVT#")
	case strings.HasPrefix(pk, "APIKEY#"):
		return sk == "KEY"
	case pk == "DEPLOYMENT":
		return sk == "STATUS_COUNTS"
	case pk == "AUDIT#ERASURE":
		return true
	}
	return false
}
