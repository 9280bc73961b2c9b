package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/snapshotfn"
)

type settings struct {
	Addr        string
	Table       string
	Endpoint    string // "" = start DynamoDB Local
	DBPath      string
	Credentials string // where the keys and session secret are written
	Session     auth.SessionConfig
	// SecretGenerated: Session.HS256Secret was made up for this run (no
	// SESSION_* setting), so the credentials file's secret may replace it.
	SecretGenerated bool
	// SigningGenerated: Session.SigningSecret was made up for this run (no
	// SIGNING_SECRET), so the credentials file's may replace it.
	SigningGenerated bool
	// AuthorizerCacheTTL caches authorizer answers like API Gateway does
	// (60 s deployed); 0 locally, so a revoked key stops at once.
	AuthorizerCacheTTL time.Duration
	CORSOrigins        []string
	// RetentionDays keeps exposure and event items this long (0: default).
	RetentionDays int
	// DemoUsers are enrolled in a freshly created demo experiment, a share
	// of them purchasing, so the console has results to draw (make run:
	// 300, LOCAL_DEMO_USERS; 0 in tests, which count their own traffic).
	DemoUsers int
	// SnapshotInterval is how often today's snapshot of the counters is
	// rewritten (hourly, as the deployed schedule).
	SnapshotInterval time.Duration
	// wrap, if set, wraps the gateway's handler: the tests check every
	// response against docs/openapi.yaml there.
	wrap func(http.Handler) http.Handler
}

func settingsFromEnv() (settings, error) {
	s := settings{
		Addr: "127.0.0.1:3000", Table: "abtest-local", Endpoint: os.Getenv(config.EnvEndpoint),
		DBPath: os.Getenv("LOCAL_DB_PATH"), Credentials: ".local/credentials.env", SnapshotInterval: time.Hour,
	}
	if v := os.Getenv("LOCAL_CREDENTIALS_FILE"); v != "" {
		s.Credentials = v
	}
	var err error
	if s.RetentionDays, err = config.RetentionDaysFromEnv(); err != nil {
		return s, err
	}
	session, err := auth.SessionFromEnv()
	if err != nil {
		return s, err
	}
	if session.HS256Secret == "" && session.JWKSURL == "" && session.JWKSJSON == "" {
		// Locally the service plays the identity provider: a fresh secret,
		// unless the credentials file's keys still work (issueCredentials),
		// written to the credentials file with the tokens.
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return s, err
		}
		session.HS256Secret = hex.EncodeToString(b[:])
		s.SecretGenerated = true
	}
	if session.SigningSecret == "" {
		// Like the session secret: server keys' signing tokens derive from it.
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return s, err
		}
		session.SigningSecret = hex.EncodeToString(b[:])
		s.SigningGenerated = true
	}
	s.Session = session
	s.DemoUsers = 300
	if v := os.Getenv("LOCAL_DEMO_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s, fmt.Errorf("LOCAL_DEMO_USERS=%q is not a count of users", v)
		}
		s.DemoUsers = n
	}
	if v := os.Getenv("LOCAL_ADDR"); v != "" {
		s.Addr = v
	}
	if v := os.Getenv(config.EnvTable); v != "" {
		s.Table = v
	}
	if v := os.Getenv("LOCAL_CORS_ORIGINS"); v != "" {
		s.CORSOrigins = strings.Split(v, ",")
	}
	if v := os.Getenv("LOCAL_SNAPSHOT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("LOCAL_SNAPSHOT_INTERVAL=%q is not a positive duration", v)
		}
		s.SnapshotInterval = d
	}
	if v := os.Getenv("LOCAL_AUTHORIZER_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("LOCAL_AUTHORIZER_CACHE_TTL=%q is not a duration", v)
		}
		s.AuthorizerCacheTTL = d
	}
	return s, nil
}

// DemoExperiment is the experiment every local run starts with.
const DemoExperiment = "checkout_button_v2"

// run serves until ctx ends. ready, if set, receives the gateway's base URL
// once it accepts requests (tests).
func run(ctx context.Context, s settings, logger *slog.Logger, out io.Writer, ready chan<- string) error {
	// The port first: a taken one fails at once, before DynamoDB Local
	// starts. Connections wait in the backlog until the gateway serves.
	ln, err := listen(s.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	endpoint := s.Endpoint
	if endpoint == "" {
		fmt.Fprintln(out, "starting DynamoDB Local ...")
		srv, err := dynamolocal.Start(ctx, dynamolocal.Options{DBPath: s.DBPath})
		if err != nil {
			return fmt.Errorf("start DynamoDB Local: %w", err)
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				logger.Error("stop DynamoDB Local", "error", err)
			}
			fmt.Fprintln(out, "DynamoDB Local stopped")
		}()
		endpoint = srv.Endpoint()
	}
	db := dynamolocal.NewClient(endpoint)
	if err := store.CreateTable(ctx, db, s.Table); err != nil {
		return err
	}
	deps := lambdafn.New(logger, db, config.Config{Table: s.Table, DefinitionsMaxAge: snapshot.DefaultMaxAge, RetentionDays: s.RetentionDays})
	// The counters come from the table's stream, as on AWS; locally a poller
	// stands in for Lambda's event source mapping.
	poller, err := aggregator.NewPoller(ctx, db, dynamolocal.NewStreamsClient(endpoint), s.Table, aggregator.New(deps.Store), logger)
	if err != nil {
		return fmt.Errorf("%w (a table kept in LOCAL_DB_PATH from before streams: remove that folder)", err)
	}
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	go poller.Run(pollCtx, 100*time.Millisecond)
	seeded, err := seedDemo(ctx, deps.Store)
	if err != nil {
		return err
	}
	// The daily series (results/timeseries): the schedule's stand-in
	// rewrites today's snapshot at start and every SnapshotInterval.
	go snapshotfn.Every(pollCtx, cmp.Or(s.SnapshotInterval, time.Hour), logger, resultsapi.UseCase(deps), deps.Store)

	creds, reused, err := loadOrIssueCredentials(ctx, deps.Store, s)
	if err != nil {
		return err
	}
	if reused {
		fmt.Fprintf(out, "reusing the keys and session secret in %s (still valid in table %s)\n", s.Credentials, s.Table)
	}
	s.Session.HS256Secret, s.Session.SigningSecret = creds.Secret, creds.Signing
	gw, err := allroutes.Gateway(deps, s.Session, gateway.Options{Timeout: 10 * time.Second, AuthorizerCacheTTL: s.AuthorizerCacheTTL, CORSOrigins: s.CORSOrigins})
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	creds.URL = url
	if err := creds.write(s.Credentials); err != nil {
		return err
	}
	if seeded && s.DemoUsers > 0 {
		fmt.Fprintf(out, "sending the demo experiment %d users' traffic ...\n", s.DemoUsers)
		if err := sendDemoTraffic(ctx, gw, creds.ServerKey, s.DemoUsers); err != nil {
			return err
		}
	}
	var handler http.Handler = gw
	if s.wrap != nil {
		handler = s.wrap(gw)
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	// The listener answers requests net/http cannot parse (a malformed
	// escape) with the API's JSON error body, as API Gateway would.
	go func() { errc <- httpSrv.Serve(gateway.Listener(ln)) }()

	printQuickStart(out, creds, endpoint, s)
	if ready != nil {
		ready <- url
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listen binds the gateway's address; a taken port names LOCAL_ADDR and
// suggests a free one.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("LOCAL_ADDR %s: %w", addr, err)
	}
	suggestion := "another host:port"
	if host, _, herr := net.SplitHostPort(addr); herr == nil {
		if free, ferr := net.Listen("tcp", net.JoinHostPort(host, "0")); ferr == nil {
			suggestion = free.Addr().String()
			free.Close()
		}
	}
	return nil, fmt.Errorf("LOCAL_ADDR %s is in use: set LOCAL_ADDR=%s (a free port now), or stop what listens there", addr, suggestion)
}

// DemoRevenueMetric is the demo experiment's secondary metric: the sum of
// each user's purchase amounts, capped at 500.
const DemoRevenueMetric = "revenue"

// seedDemo creates the demo experiment (and its revenue metric) unless it
// exists already, and reports whether it did. The metric comes first: a
// metric counts the events that arrive once it exists.
func seedDemo(ctx context.Context, st *store.Store) (bool, error) {
	now := time.Now().UTC()
	revenue := &metric.Metric{
		Key: DemoRevenueMetric, Name: "Revenue", Description: "Demo: the sum of a user's purchase amounts, capped at 500",
		Type: metric.Sum, Event: "purchase", Property: "amount", Cap: 500, Direction: metric.Increase, Status: metric.Live,
		Version: 1, CreatedAt: now, UpdatedAt: now, CreatedBy: "local-demo", UpdatedBy: "local-demo",
	}
	if err := st.CreateMetric(ctx, revenue); err != nil && !errors.Is(err, store.ErrExists) {
		return false, fmt.Errorf("seed demo metric: %w", err)
	}
	exp := &experiment.Experiment{
		Key:         DemoExperiment,
		Name:        "Checkout button v2",
		Description: "Demo: does a green checkout button convert better?",
		Events:      []string{"purchase"},
		Metrics:     experiment.MetricRefs{Secondary: []string{DemoRevenueMetric}},
		Status:      experiment.Active,
		Coverage:    1,
		Version:     1,
		Variants: []experiment.Variant{
			{Key: "control", Weight: 50, Payload: json.RawMessage(`{"color":"blue"}`)},
			{Key: "treatment", Weight: 50, Payload: json.RawMessage(`{"color":"green"}`)},
		},
		CreatedAt: now, UpdatedAt: now, CreatedBy: "local-demo", UpdatedBy: "local-demo",
	}
	switch err := st.CreateExperiment(ctx, exp); {
	case errors.Is(err, store.ErrExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("seed demo experiment: %w", err)
	}
	return true, nil
}

// Example is one request of the quick start, printed as a curl command.
type Example struct {
	Title   string
	Method  string
	Path    string
	Headers [][2]string
	Body    string
	Status  int // what it answers on a fresh run
}

// Curl renders the example as a ready-to-paste command.
func (e Example) Curl(base string) string {
	var b strings.Builder
	b.WriteString("curl -s")
	if e.Method != http.MethodGet {
		b.WriteString(" -X " + e.Method)
	}
	b.WriteString(" '" + base + e.Path + "'")
	for _, h := range e.Headers {
		fmt.Fprintf(&b, " -H '%s: %s'", h[0], h[1])
	}
	if e.Body != "" {
		fmt.Fprintf(&b, " -d '%s'", e.Body)
	}
	return b.String()
}

// quickStart lists the requests printed at start-up; the tests send them.
func quickStart(c localCreds) []Example {
	user := [][2]string{{"X-Api-Key", c.ClientKey}, {"Authorization", "Bearer " + c.AliceToken}}
	admin := [][2]string{{"X-Api-Key", c.AdminKey}}
	exp := "/v1/client/experiments/" + DemoExperiment
	return []Example{
		{Title: "Assign alice (sticky: repeat it, the variant never changes)", Method: http.MethodGet, Path: exp + "/assignment", Headers: user, Status: 200},
		{Title: "Record that alice saw her variant", Method: http.MethodPost, Path: exp + "/exposure", Headers: user, Status: 201},
		{Title: "Alice buys something", Method: http.MethodPost, Path: "/v1/client/events", Headers: user,
			Body: `{"events":[{"name":"purchase","id":"order-1001"}]}`, Status: 202},
		{Title: "Results for the purchase event (admin key)", Method: http.MethodGet, Path: "/v1/admin/experiments/" + DemoExperiment + "/results?event=purchase", Headers: admin, Status: 200},
		{Title: "Every experiment, newest first (admin key)", Method: http.MethodGet, Path: "/v1/admin/experiments", Headers: admin, Status: 200},
		{Title: "Every active experiment and flag for alice in one call", Method: http.MethodPost, Path: "/v1/client/evaluate", Headers: user,
			Body: `{"attributes":{"country":"US"}}`, Status: 200},
		{Title: "The classic Experiments API, running experiments (admin token)", Method: http.MethodGet, Path: "/api/experiments?status=running",
			Headers: [][2]string{{"Authorization", "Bearer " + c.AdminToken}}, Status: 200},
	}
}

func printQuickStart(out io.Writer, c localCreds, endpoint string, s settings) {
	fmt.Fprintf(out, "\nabtest is running locally.\n  gateway:         %s\n  DynamoDB Local:  %s (table %s)\n  demo experiment: %s (active, control/treatment 50/50)\n",
		c.URL, endpoint, s.Table, DemoExperiment)
	fmt.Fprintf(out, "  console:         %s/console/ (sign in with the admin key or the admin token)\n", c.URL)
	fmt.Fprintf(out, "  admin key:       %s\n  client key:      %s\n  server key:      %s\n  session (alice): %s\n  session (bob):   %s\n  admin token:     %s\n  all of these are in %s\n\n",
		c.AdminKey, c.ClientKey, c.ServerKey, c.AliceToken, c.BobToken, c.AdminToken, s.Credentials)
	fmt.Fprintln(out, "Try it:")
	for _, e := range quickStart(c) {
		fmt.Fprintf(out, "\n  # %s\n  %s\n", e.Title, e.Curl(c.URL))
	}
	fmt.Fprintln(out, "\nPress Ctrl-C to stop (DynamoDB Local stops with it).")
}
