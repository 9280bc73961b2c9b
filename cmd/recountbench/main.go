// Command recountbench measures the recount at scale on this machine: it
// starts DynamoDB Local (on disk), stores -units units of one experiment
// through the store's own writes (every unit assigned, one in four exposed,
// one in ten converting), then recounts them as the API does, call after
// call within the results function's time budget, once without and once
// with an interruption part way. It prints a Markdown report: seeding and
// recount time, calls, items scanned, and the peak Go heap beside the
// function's 256 MB. Seeding copies units the store wrote (see seed).
//
//	go run ./cmd/recountbench -units 1000000     (make bench-recount)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/usecase/results"
)

const (
	table = "abtest-recount-bench"
	key   = "recount-bench"
	// functionMemoryMB is the results function's memory on AWS (infra).
	functionMemoryMB = 256
)

func main() {
	units := flag.Int("units", 1000000, "units to store and recount")
	workers := flag.Int("c", 8, "concurrent batch writers while seeding")
	flag.Parse()
	if err := run(context.Background(), *units, *workers, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "recountbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, units, workers int, out io.Writer) error {
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		return err
	}
	defer srv.Stop()
	db := dynamolocal.NewClient(srv.Endpoint())
	if err := store.CreateTable(ctx, db, table); err != nil {
		return err
	}
	st := store.New(db, table)
	exp := &experiment.Experiment{Key: key, Name: "Recount bench", Status: experiment.Active, Coverage: 1, Version: 1,
		Events: []string{"purchase"}, Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
	if err := st.CreateExperiment(ctx, exp); err != nil {
		return err
	}

	start := time.Now()
	want, err := seed(ctx, db, st, units, workers)
	if err != nil {
		return err
	}
	seeded := time.Since(start)
	fmt.Fprintf(out, "# Recount at %d units (%s)\n\n", units, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(out, "Seeded in %s (%.0f units/s): %d assigned, %d exposed, %d converted.\n\n",
		seeded.Round(time.Second), float64(units)/seeded.Seconds(), sum(want.Assigned), sum(want.Exposed), sumConv(want))

	fmt.Fprintln(out, "| run | calls (failed) | time | units/s | items scanned | peak Go heap | limit (function memory) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	uc := results.New(definitions{exp}, st, time.Now)
	for _, interrupt := range []bool{false, true} {
		r, err := recount(ctx, uc, st, interrupt)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(r.after, counts(want)) {
			return fmt.Errorf("recount %+v, stored %+v", r.after, counts(want))
		}
		name := "from scratch"
		if interrupt {
			name = "cut off after 20 s, then resumed"
		}
		fmt.Fprintf(out, "| %s | %d (%d) | %s | %.0f | %d | %.1f MB | %d MB |\n", name, r.calls, r.failed, r.took.Round(time.Second),
			float64(units)/r.took.Seconds(), r.scanned, float64(r.peakHeap)/(1<<20), functionMemoryMB)
	}
	fmt.Fprintln(out, "\nBoth runs recount exactly what was stored (checked).")
	return nil
}

// seed stores three template units through the store's own calls (one
// only assigned, one exposed, one exposed and converted), then writes units
// copies of them with BatchWriteItem, each under its own unit id: the items
// are exactly what the store writes, at the speed of batch writes. It
// returns what the units should count.
func seed(ctx context.Context, db *dynamodb.Client, st *store.Store, units, workers int) (experiment.Aggregates, error) {
	templates := make([][]map[string]types.AttributeValue, 3)
	for kind := range templates {
		user := fmt.Sprintf("template-%d", kind)
		a, _, err := st.CreateAssignment(ctx, key, experiment.UserUnit(user), "control")
		if err != nil {
			return experiment.Aggregates{}, err
		}
		if kind > 0 {
			if _, _, err := st.RecordExposure(ctx, a, "control", ""); err != nil {
				return experiment.Aggregates{}, err
			}
		}
		if kind > 1 {
			now := time.Now().UTC()
			ev := &experiment.Event{ID: "purchase-1", Unit: experiment.UserUnit(user), Name: "purchase", Timestamp: now, ReceivedAt: now}
			if _, err := st.RecordEvent(ctx, ev, []*experiment.Assignment{a}, func(string) bool { return true }); err != nil {
				return experiment.Aggregates{}, err
			}
		}
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "USER#" + user}},
		})
		if err != nil {
			return experiment.Aggregates{}, err
		}
		templates[kind] = out.Items
		// The templates go: only the copies are counted.
		for _, it := range out.Items {
			if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}}); err != nil {
				return experiment.Aggregates{}, err
			}
		}
	}
	want := experiment.NewAggregates()
	var reqs []types.WriteRequest
	batches := make(chan []types.WriteRequest, workers)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := batchWrite(ctx, db, b); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < units; i++ {
		kind := 0
		switch {
		case i%20 == 0:
			kind = 2
		case i%4 == 0:
			kind = 1
		}
		variant := []string{"control", "treatment"}[i%2]
		want.Assigned[variant]++
		if kind > 0 {
			want.Exposed[variant]++
		}
		if kind > 1 {
			want.AddConverted(variant, "purchase", 1)
		}
		for _, it := range templates[kind] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: clone(it, fmt.Sprintf("template-%d", kind), fmt.Sprintf("unit-%07d", i), variant)}})
			if len(reqs) == 25 {
				batches <- reqs
				reqs = nil
			}
		}
	}
	if len(reqs) > 0 {
		batches <- reqs
	}
	close(batches)
	wg.Wait()
	return want, firstErr
}

// clone copies a template item for another unit and variant.
func clone(it map[string]types.AttributeValue, from, to, variant string) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(it))
	for k, v := range it {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			val := strings.ReplaceAll(s.Value, from, to)
			if val == "control" && (k == "variant" || k == "assigned_variant") {
				val = variant
			}
			v = &types.AttributeValueMemberS{Value: val}
		}
		out[k] = v
	}
	return out
}

func batchWrite(ctx context.Context, db *dynamodb.Client, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{table: reqs}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 10 {
			return errors.New("batch write: unprocessed items")
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return err
		}
		pending = out.UnprocessedItems
	}
	return nil
}

type outcome struct {
	calls    int
	failed   int // calls that failed and were made again
	took     time.Duration
	scanned  int64
	peakHeap uint64
	after    results.Counts
}

// recount calls the recount use case as the API would, each call with the
// results function's deadline, until it is done; interrupt cuts the first
// call off after 20 s as a dying function would.
func recount(ctx context.Context, uc *results.Service, st *store.Store, interrupt bool) (outcome, error) {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	go sampleHeap(&peak, stop)
	defer close(stop)
	var o outcome
	start := time.Now()
	if interrupt {
		cut, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := st.RecountStep(cut, key, []string{"purchase"}, false, time.Time{})
		cancel()
		if err == nil {
			return o, errors.New("the interrupted recount finished within 20 s: use more units")
		}
		o.calls++ // the cut-off call frees its job; the next goes on from its checkpoints
	}
	for {
		call, cancel := context.WithTimeout(ctx, 10*time.Second) // the function's timeout
		r, err := uc.Recount(call, key, true)
		cancel()
		o.calls++
		if err != nil {
			// A client calls again after a failed call, as after a 5xx;
			// the job goes on from its last checkpoint.
			o.failed++
			if o.failed > 20 {
				return o, err
			}
			continue
		}
		o.scanned = r.Progress.Scanned
		if r.Status == "done" {
			o.took, o.after, o.peakHeap = time.Since(start), r.After, peak.Load()
			return o, nil
		}
	}
}

func sampleHeap(peak *atomic.Uint64, stop chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var m runtime.MemStats
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}
}

// definitions serves the one experiment to the use case.
type definitions struct{ e *experiment.Experiment }

func (d definitions) Fresh(context.Context, string) (*experiment.Experiment, error) { return d.e, nil }

func counts(g experiment.Aggregates) results.Counts {
	g = g.NonZero()
	return results.Counts{Assigned: g.Assigned, Exposed: g.Exposed, Converted: g.Converted}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func sumConv(g experiment.Aggregates) int64 {
	var n int64
	for _, m := range g.Converted {
		n += sum(m)
	}
	return n
}
