// Package aggregator keeps the counters off the request path: it reads the
// table's change stream (new and old images), turns every change of an
// assignment item into the change of its experiment's counts
// (experiment.Delta) and every change of a holdout membership into the
// change of its holdout's (holdout.Delta), sums a batch's changes per
// experiment and holdout, and applies them with the stream shard's
// checkpoint in one transaction, so a batch delivered twice is counted once. The Lambda event source mapping feeds it
// on AWS (shared/edge/streamfn); a poller of DynamoDB Local's stream feeds
// it locally and in tests (shared/edge/streampoll).
package aggregator

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/domain/metric"
)

// MaxBatch is the most records one Apply takes: every record may touch
// another experiment, and one transaction holds 99 of them next to the
// checkpoint. The event source mapping's batch size must not exceed it.
const MaxBatch = 99

// Record is one change of an item, as the stream reports it.
type Record struct {
	SequenceNumber string
	Old, New       map[string]types.AttributeValue // nil when absent (insert, remove)
	At             time.Time                       // when the change was made
}

// Batch is consecutive records of one stream shard, in stream order.
type Batch struct {
	Shard   string
	Records []Record
}

// Store applies counted changes, and reads the metric definitions whose
// shapes turn units' values into sums.
type Store interface {
	ApplyDeltas(ctx context.Context, streamShard, first, last string, asOf time.Time, deltas map[string]experiment.Aggregates) (applied bool, checkpoint string, err error)
	GetMetrics(ctx context.Context, keys []string) (map[string]*metric.Metric, error)
}

// Aggregator applies batches of changes to the counters.
type Aggregator struct {
	store Store
	// shapes are the metric shapes read so far: fixed at a metric's
	// creation, so kept for the life of the process.
	mu     sync.Mutex
	shapes experiment.Shapes
}

// New returns an aggregator writing to st.
func New(st Store) *Aggregator { return &Aggregator{store: st, shapes: experiment.Shapes{}} }

// Result says what an Apply did.
type Result struct {
	Applied bool // false: the batch was applied before (a redelivery), or held no change to count
	Changes int  // assignment and membership changes counted
}

// Apply counts a batch exactly once: all of it or, on error, none of what
// was not counted before. A batch that overlaps one applied before (a retry
// from a record, with more records after it) counts only its records after
// the stream shard's checkpoint.
func (a *Aggregator) Apply(ctx context.Context, b Batch) (Result, error) {
	if len(b.Records) > MaxBatch {
		return Result{}, fmt.Errorf("aggregate: %d records in one batch, at most %d", len(b.Records), MaxBatch)
	}
	records := b.Records
	shapes, err := a.shapesOf(ctx, records)
	if err != nil {
		return Result{}, err
	}
	for attempt := 0; len(records) > 0 && attempt < 2; attempt++ {
		deltas, asOf, changes := sum(records, shapes)
		if len(deltas) == 0 {
			// Nothing to count; the checkpoint need not move, since a
			// redelivery of such records counts nothing either.
			return Result{}, nil
		}
		first, last := records[0].SequenceNumber, records[len(records)-1].SequenceNumber
		applied, checkpoint, err := a.store.ApplyDeltas(ctx, b.Shard, first, last, asOf, deltas)
		if err != nil {
			return Result{}, fmt.Errorf("aggregate %d changes: %w", changes, err)
		}
		if applied {
			return Result{Applied: true, Changes: changes}, nil
		}
		if checkpoint == "" {
			return Result{}, fmt.Errorf("aggregate: stream shard %q refused the batch without naming its checkpoint", b.Shard)
		}
		records = after(records, checkpoint)
	}
	return Result{}, nil
}

// sum adds up the counted changes of records by the counters they move
// (an experiment's, or a holdout's: store.HoldoutCounters).
func sum(records []Record, shapes experiment.Shapes) (deltas map[string]experiment.Aggregates, asOf time.Time, changes int) {
	deltas = map[string]experiment.Aggregates{}
	for _, r := range records {
		key, d, ok := delta(r, shapes)
		if !ok || d.IsZero() {
			continue
		}
		total, ok := deltas[key]
		if !ok {
			total = experiment.NewAggregates()
			deltas[key] = total
		}
		total.Add(d)
		changes++
		if r.At.After(asOf) {
			asOf = r.At
		}
	}
	return deltas, asOf, changes
}

// after returns the records after sequence number checkpoint.
func after(records []Record, checkpoint string) []Record {
	for i, r := range records {
		if store.SeqAfter(r.SequenceNumber, checkpoint) {
			return records[i:]
		}
	}
	return nil
}

// delta is how one change moves the counters it names: a change of an
// assignment moves its experiment's (experiment.Delta), a change of a
// holdout membership its holdout's (holdout.Delta). Other items count
// through these (exposures and events mark them) or not at all.
func delta(r Record, shapes experiment.Shapes) (key string, d experiment.Aggregates, ok bool) {
	if before, after, ok := images(r, store.DecodeAssignment); ok {
		key := cmp.Or(after, before).Experiment
		return key, experiment.DeltaOf(before, after, shapes), true
	}
	if before, after, ok := images(r, store.DecodeMembership); ok {
		key := cmp.Or(after, before).Holdout
		return store.HoldoutCounters(key), holdout.Delta(before, after), true
	}
	return "", experiment.Aggregates{}, false
}

// images decodes a record's old and new images as items of one kind (nil
// where absent or of another kind); ok is false when neither is.
func images[T any](r Record, decode func(map[string]types.AttributeValue) (*T, bool)) (before, after *T, ok bool) {
	before, okOld := decode(r.Old)
	after, okNew := decode(r.New)
	if !okOld {
		before = nil
	}
	if !okNew {
		after = nil
	}
	return before, after, okOld || okNew
}

// shapesOf returns the shapes of every metric the records' assignments hold
// values of, reading the definitions of those not read before (one
// BatchGetItem). A metric whose definition is gone (never, short of a
// hand-deleted item) adds nothing to the sums.
func (a *Aggregator) shapesOf(ctx context.Context, records []Record) (experiment.Shapes, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var missing []string
	for _, r := range records {
		for _, img := range []map[string]types.AttributeValue{r.Old, r.New} {
			if asg, ok := store.DecodeAssignment(img); ok {
				for k := range asg.Values {
					if _, known := a.shapes[k]; !known && !slices.Contains(missing, k) {
						missing = append(missing, k)
					}
				}
			}
		}
	}
	if len(missing) > 0 {
		defs, err := a.store.GetMetrics(ctx, missing)
		if err != nil {
			return nil, fmt.Errorf("aggregate: metric shapes: %w", err)
		}
		for k, m := range defs {
			a.shapes[k] = m.Shape()
		}
	}
	return maps.Clone(a.shapes), nil
}
