// Command loadgen measures the service on this machine: it starts DynamoDB
// Local and the local gateway (the same handlers and authorizer as on AWS),
// drives each request kind with a fixed number of requests at a fixed
// concurrency, and prints a Markdown report: requests/s, p50, p99, DynamoDB
// calls and consumed capacity per request, the raw DynamoDB limits measured
// beside them, results latency at two population sizes, and cold start.
//
//	go run ./cmd/loadgen [-n 2000] [-c 16] [-results-users 100000]   (make bench)
//
// It sends traffic only to 127.0.0.1, and every loop is bounded by -n.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/keys"
)

const (
	table  = "abtest-bench"
	secret = "loadgen-secret-of-at-least-32-bytes!"
)

func main() {
	n := flag.Int("n", 2000, "requests per scenario")
	c := flag.Int("c", 16, "concurrent requests")
	resultsUsers := flag.Int("results-users", 100000, "exposed users for the large results measurement")
	skipCold := flag.Bool("skip-cold-start", false, "skip the cold start measurement")
	flag.Parse()
	if err := run(context.Background(), *n, *c, *resultsUsers, !*skipCold, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type bench struct {
	n, c   int
	meter  *meter
	db     *dynamodb.Client
	st     *store.Store
	base   string
	client *http.Client
	admin  string
	key    string
	tokens []string
	out    io.Writer
	rows   []row
	// counters reads the counters without the meter (the aggregator's
	// progress is not the requests' cost).
	counters *store.Store
	lag      []time.Duration // first assignment acknowledged -> counted
}

type row struct {
	name         string
	rps          float64
	p50, p99     time.Duration
	calls, units float64
	errors       int
}

func run(ctx context.Context, n, c, resultsUsers int, coldStart bool, out io.Writer) error {
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		return err
	}
	defer srv.Stop()
	m := &meter{}
	db := dynamolocal.NewClient(srv.Endpoint(), m.apply)
	if err := store.CreateTable(ctx, db, table); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := lambdafn.New(quiet, db, config.Config{Table: table, DefinitionsMaxAge: snapshot.DefaultMaxAge})
	// API Gateway caches authorizer answers for 60 s; so does this gateway.
	// The counters follow the stream off the request path; the poller's own
	// calls are not the requests' and are not metered.
	plain := dynamolocal.NewClient(srv.Endpoint())
	poller, err := aggregator.NewPoller(ctx, plain, dynamolocal.NewStreamsClient(srv.Endpoint()), table, aggregator.New(store.New(plain, table)), quiet)
	if err != nil {
		return err
	}
	go poller.Run(ctx, 100*time.Millisecond)
	counters := store.New(plain, table)
	gw, err := allroutes.Gateway(deps, auth.SessionConfig{HS256Secret: secret}, gateway.Options{Timeout: 10 * time.Second, AuthorizerCacheTTL: time.Minute})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: gw, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = httpSrv.Serve(gateway.Listener(ln)) }()
	defer httpSrv.Close()

	b := &bench{n: n, c: c, meter: m, db: db, st: deps.Store, counters: counters, base: "http://" + ln.Addr().String(), out: out,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c * 2}, Timeout: 30 * time.Second}}
	now := time.Now()
	if b.admin, _, err = keys.Issue(ctx, deps.Store, "bench admin", apikey.RoleAdmin, "loadgen", now); err != nil {
		return err
	}
	if b.key, _, err = keys.Issue(ctx, deps.Store, "bench client", apikey.RoleClient, "loadgen", now); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		tok, err := auth.MintHS256(secret, fmt.Sprintf("user-%06d", i), time.Hour, now)
		if err != nil {
			return err
		}
		b.tokens = append(b.tokens, tok)
	}
	for _, key := range []string{"bench", "scale"} {
		if err := deps.Store.CreateExperiment(ctx, benchExperiment(key)); err != nil {
			return err
		}
	}
	assignment, err := allroutes.Handler(deps, routes.Assignment)
	if err != nil {
		return err
	}
	if err := b.scenarios(ctx, assignment); err != nil {
		return err
	}
	if err := b.evaluation(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "## Throughput and latency\n\nDynamoDB Local 1.25.1 (in memory) and the load driver share this machine; %d requests per row at concurrency %d. Calls and capacity are per request, from `ReturnConsumedCapacity`.\n\n", n, c)
	fmt.Fprintln(out, "| scenario | req/s | p50 | p99 | DynamoDB calls | capacity units | errors |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range b.rows {
		fmt.Fprintf(out, "| %s | %.0f | %s | %s | %.2f | %.2f | %d |\n", r.name, r.rps, ms(r.p50), ms(r.p99), r.calls, r.units, r.errors)
	}
	b.ratios()
	if err := b.costs(ctx, deps); err != nil {
		return err
	}
	if err := b.resultsScale(ctx, resultsUsers); err != nil {
		return err
	}
	if coldStart {
		return coldStarts(ctx, out)
	}
	return nil
}

func benchExperiment(key string) *experiment.Experiment {
	t := time.Now().UTC()
	return &experiment.Experiment{Key: key, Name: key, Events: []string{"purchase"}, Status: experiment.Active, Coverage: 1, Version: 1, CreatedAt: t, UpdatedAt: t,
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// measure runs fn for i in [0,n) on c workers and records a row.
func (b *bench) measure(name string, n int, fn func(i int) error) row {
	calls0, units0 := b.meter.snapshot()
	lat := make([]time.Duration, n)
	var errs int
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < b.c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				err := fn(i)
				lat[i] = time.Since(t)
				if err != nil {
					mu.Lock()
					if errs == 0 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
					}
					errs++
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	calls1, units1 := b.meter.snapshot()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := row{name: name, rps: float64(n) / elapsed.Seconds(), p50: lat[n/2], p99: lat[n*99/100],
		calls: float64(calls1-calls0) / float64(n), units: (units1 - units0) / float64(n), errors: errs}
	b.rows = append(b.rows, r)
	return r
}

// call sends one request; want is the expected status.
func (b *bench) call(method, path, body string, headers map[string]string, want int) error {
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
	return nil
}

func (b *bench) user(i int) map[string]string {
	return map[string]string{"X-Api-Key": b.key, "Authorization": "Bearer " + b.tokens[i]}
}

func (b *bench) scenarios(ctx context.Context, assignment httpapi.Handler) error {
	n := b.n
	path := "/v1/client/experiments/bench"
	var (
		ackMu sync.Mutex
		acks  []time.Time
	)
	// Warm DynamoDB Local's JVM (its JIT) and the connections first, off
	// the record: the first measured row would otherwise pay for it alone.
	for i := range n {
		_, _ = b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": avS(fmt.Sprintf("WARM#%06d", i)), "sk": avS("W"),
		}})
		_, _ = b.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"pk": avS(fmt.Sprintf("WARM#%06d", i)), "sk": avS("W"),
		}})
	}
	stop := b.sampleCounters(ctx, "bench")
	b.measure("first assignment (gateway)", n, func(i int) error {
		err := b.call("GET", path+"/assignment", "", b.user(i), 200)
		ackMu.Lock()
		acks = append(acks, time.Now())
		ackMu.Unlock()
		return err
	})
	b.lag = lagOf(acks, stop())
	// The raw rows write items shaped as the service's (an assignment of
	// another experiment, rawbench), so the stream poller aggregates them as
	// it aggregates the service's: both rows run under the same load on
	// DynamoDB Local, which the aggregator shares here (not on AWS).
	// Counters are sampled during this row too, as during the first
	// assignments (the lag measurement reads them every 20 ms).
	stopRaw := b.sampleCounters(ctx, "rawbench")
	b.measure("raw conditional PutItem (same client)", n, func(i int) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": avS(rawPK(i)), "sk": avS("ASG#rawbench"), "gsi1pk": avS("ASG#rawbench"), "gsi1sk": avS(fmt.Sprintf("raw-%06d", i)),
			"experiment": avS("rawbench"), "user_id": avS(fmt.Sprintf("raw-%06d", i)),
			"variant": avS("treatment"), "assigned_at": avS(now()),
		}, ConditionExpression: aws.String("attribute_not_exists(pk)")})
		return err
	})
	stopRaw()
	b.measure("repeat assignment (gateway)", n, func(i int) error { return b.call("GET", path+"/assignment", "", b.user(i), 200) })
	b.measure("repeat assignment (handler in-process)", n, func(i int) error {
		resp, err := assignment(ctx, httpapitest.Request("bench", fmt.Sprintf("user-%06d", i), ""))
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	})
	b.measure("raw GetItem (same client)", n, func(i int) error {
		_, err := b.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("USER#user-%06d", i)}, "sk": &types.AttributeValueMemberS{Value: "ASG#bench"},
		}})
		return err
	})
	b.measure("exposure (gateway)", n, func(i int) error { return b.call("POST", path+"/exposure", "", b.user(i), 201) })
	b.measure("raw PutItem (same client)", n, func(i int) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%06d", i)}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("X#%d", time.Now().UnixNano())},
			"v": &types.AttributeValueMemberS{Value: "exposure-sized payload"},
		}})
		return err
	})
	// The writes a first exposure makes, raw: the unit's exposure item and
	// the first-exposure mark on its assignment, in one transaction (on the
	// assignments the raw conditional PutItem row wrote).
	b.measure("raw first-exposure transaction (same client)", n, func(i int) error {
		return b.rawFirstExposure(ctx, rawPK(i))
	})
	batch := make([]string, 10)
	for j := range batch {
		batch[j] = fmt.Sprintf(`{"name":"purchase","properties":{"item":%d}}`, j)
	}
	events := `{"events":[` + strings.Join(batch, ",") + `]}`
	b.measure("event batch of 10 (gateway)", n/4, func(i int) error { return b.call("POST", "/v1/client/events", events, b.user(i), 202) })
	// The writes such a batch makes, raw: the first purchase converts (the
	// event and the assignment's mark, one transaction), the other nine
	// are conditional puts of the event alone.
	b.measure("raw writes of a batch of 10 (same client)", n/4, func(i int) error {
		return b.rawEventBatch(ctx, rawPK(i), 10)
	})
	admin := map[string]string{"X-Api-Key": b.admin}
	// Events that feed a live metric (the sum of checkout amounts) add to
	// the unit's value on its assignment item: each is a transaction of the
	// event and that update, however many metrics it feeds.
	if err := b.call("POST", "/v1/admin/metrics", `{"key":"bench-revenue","name":"Revenue","type":"sum","event":"checkout","property":"amount"}`, admin, 201); err != nil {
		return err
	}
	time.Sleep(snapshot.DefaultMaxAge) // the events path picks the metric up within the definitions' maximum age
	for j := range batch {
		batch[j] = fmt.Sprintf(`{"name":"checkout","properties":{"amount":%d}}`, 10+j)
	}
	metered := `{"events":[` + strings.Join(batch, ",") + `]}`
	b.measure("event batch of 10 feeding a sum metric (gateway)", n/4, func(i int) error {
		return b.call("POST", "/v1/client/events", metered, b.user(i), 202)
	})
	b.measure("raw writes of a metric-fed batch of 10 (same client)", n/4, func(i int) error {
		return b.rawMeteredBatch(ctx, rawPK(i), 10)
	})
	b.measure("results (gateway)", n/4, func(i int) error {
		return b.call("GET", "/v1/admin/experiments/bench/results?event=purchase", "", admin, 200)
	})
	return nil
}

func (b *bench) find(name string) row {
	for _, r := range b.rows {
		if r.name == name {
			return r
		}
	}
	return row{}
}

func (b *bench) ratios() {
	get := b.find("raw GetItem (same client)")
	put := b.find("raw PutItem (same client)")
	inproc := b.find("repeat assignment (handler in-process)")
	gw := b.find("repeat assignment (gateway)")
	exp := b.find("exposure (gateway)")
	rawExp := b.find("raw first-exposure transaction (same client)")
	evs := b.find("event batch of 10 (gateway)")
	rawEvs := b.find("raw writes of a batch of 10 (same client)")
	first := b.find("first assignment (gateway)")
	cond := b.find("raw conditional PutItem (same client)")
	fmt.Fprintf(b.out, "\n## Against the raw DynamoDB limits\n\n| ratio | value | target |\n|---|---:|---:|\n")
	fmt.Fprintf(b.out, "| repeat assignment in-process / raw GetItem | %.0f%% | >= 80%% |\n", 100*inproc.rps/get.rps)
	fmt.Fprintf(b.out, "| repeat assignment through the gateway / raw GetItem | %.0f%% | >= 45%% |\n", 100*gw.rps/get.rps)
	fmt.Fprintf(b.out, "| first assignment through the gateway / raw conditional PutItem | %.0f%% | >= 50%% |\n", 100*first.rps/cond.rps)
	fmt.Fprintf(b.out, "| first exposure through the gateway / its raw writes (a 2-item transaction) | %.0f%% | >= 50%% |\n", 100*exp.rps/rawExp.rps)
	fmt.Fprintf(b.out, "| event batch of 10 through the gateway / its raw writes | %.0f%% | >= 50%% |\n", 100*evs.rps/rawEvs.rps)
	fed, rawFed := b.find("event batch of 10 feeding a sum metric (gateway)"), b.find("raw writes of a metric-fed batch of 10 (same client)")
	fmt.Fprintf(b.out, "| event batch of 10 feeding a sum metric through the gateway / its raw writes | %.0f%% | >= 50%% |\n", 100*fed.rps/rawFed.rps)
	fmt.Fprintf(b.out, "| first exposure through the gateway / one raw PutItem (for reference) | %.0f%% | |\n", 100*exp.rps/put.rps)
	eval := b.find("repeat evaluation, 20 experiments + 20 flags (gateway)")
	query := b.find("raw Query of the user's partition (same client)")
	fmt.Fprintf(b.out, "| repeat evaluation of 20 + 20 through the gateway / raw Query of the partition | %.0f%% | >= 60%% |\n", 100*eval.rps/query.rps)
	if len(b.lag) > 0 {
		sort.Slice(b.lag, func(i, j int) bool { return b.lag[i] < b.lag[j] })
		fmt.Fprintf(b.out, "\n## Aggregation lag\n\nFrom a first assignment's answer to the counters including it, during the first-assignment row (the stream poller standing in for the event source mapping, 100 ms rest when idle; counters sampled every 20 ms): p50 %s, p99 %s, max %s over %d assignments.\n",
			ms(b.lag[len(b.lag)/2]), ms(b.lag[len(b.lag)*99/100]), ms(b.lag[len(b.lag)-1]), len(b.lag))
	}
}

// sample is the counters' total of assigned units at a moment.
type sample struct {
	at    time.Time
	total int64
}

// sampleCounters reads experiment key's assigned total every 20 ms until the
// returned stop is called, then until it has stopped growing.
func (b *bench) sampleCounters(ctx context.Context, key string) (stop func() []sample) {
	var (
		mu      sync.Mutex
		samples []sample
		done    = make(chan struct{})
		ended   = make(chan struct{})
	)
	go func() {
		defer close(ended)
		stillSince := time.Time{}
		stopping := false
		var last int64 = -1
		for {
			g, err := b.counters.ReadAggregates(ctx, key)
			if err == nil {
				var total int64
				for _, n := range g.Assigned {
					total += n
				}
				mu.Lock()
				samples = append(samples, sample{time.Now(), total})
				mu.Unlock()
				if total != last {
					last, stillSince = total, time.Now()
				}
			}
			select {
			case <-done:
				stopping = true
			default:
			}
			if stopping && time.Since(stillSince) > time.Second {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() []sample {
		close(done)
		<-ended
		mu.Lock()
		defer mu.Unlock()
		return samples
	}
}

// lagOf pairs the k-th acknowledgement with the first sample counting at
// least k units (the stream delivers in write order within a shard).
func lagOf(acks []time.Time, samples []sample) []time.Duration {
	sort.Slice(acks, func(i, j int) bool { return acks[i].Before(acks[j]) })
	var out []time.Duration
	j := 0
	for k, at := range acks {
		for j < len(samples) && samples[j].total < int64(k+1) {
			j++
		}
		if j == len(samples) {
			break
		}
		if d := samples[j].at.Sub(at); d > 0 {
			out = append(out, d)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// resultsScale measures the results route at 1,000 and at big exposed users.
func (b *bench) resultsScale(ctx context.Context, big int) error {
	admin := map[string]string{"X-Api-Key": b.admin}
	exposed := 0
	seed := func(upTo int) error {
		var firstErr error
		var mu sync.Mutex
		next := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					a, _, err := b.st.CreateAssignment(ctx, "scale", experiment.UserUnit(fmt.Sprintf("scale-%07d", i)), []string{"control", "treatment"}[i%2])
					if err == nil {
						_, _, err = b.st.RecordExposure(ctx, a, a.Variant, "")
					}
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}
			}()
		}
		for i := exposed; i < upTo; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		exposed = upTo
		return firstErr
	}
	fmt.Fprintf(b.out, "\n## Results latency against population\n\n| exposed users | p50 | p99 | DynamoDB calls | capacity units |\n|---:|---:|---:|---:|---:|\n")
	var small row
	for _, size := range []int{1000, big} {
		start := time.Now()
		if err := seed(size); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "seeded %d exposed users in %s\n", size, time.Since(start).Round(time.Second))
		r := b.measure(fmt.Sprintf("results at %d exposed", size), 500, func(int) error {
			return b.call("GET", "/v1/admin/experiments/scale/results?event=purchase", "", admin, 200)
		})
		fmt.Fprintf(b.out, "| %d | %s | %s | %.2f | %.2f |\n", size, ms(r.p50), ms(r.p99), r.calls, r.units)
		if size == 1000 {
			small = r
		} else {
			fmt.Fprintf(b.out, "\np50 ratio %d / 1,000 users: %.2f (target < 1.5)\n", size, float64(r.p50)/float64(small.p50))
		}
	}
	return nil
}
