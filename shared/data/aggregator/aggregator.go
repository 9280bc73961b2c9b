// Package aggregator keeps the counters off the request path: it reads the
// table's change stream (new and old images), turns every change of an
// assignment item into the change of its experiment's counts
// (experiment.Delta) and every change of a holdout membership into the
// change of its holdout's (holdout.Delta), sums a batch's changes per
// experiment and holdout, and applies them with the stream shard's
// checkpoint in transactions of consecutive records, so a batch delivered
// twice is counted once. The Lambda event source mapping feeds it
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

// MaxBatch is the batch size of the event source mapping and of the
// poller. Apply takes a batch of any size: it applies it in consecutive
// ranges of records whose deltas each fit one transaction.
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
	Applied bool // false: nothing applied by this call (a redelivery, or no change to count)
	Changes int  // assignment and membership changes counted
}

// Apply counts a batch exactly once. It cuts the batch into consecutive
// ranges of records whose deltas fit one transaction (fitting) and applies
// each with the stream shard's checkpoint moved to its last record, so on
// error the ranges before it stay counted and a retry from the first
// record counts only what follows them; a batch that overlaps one applied
// before (a retry from a record, with more records after it) counts only
// its records after the stream shard's checkpoint. A record too big for a
// transaction alone goes alone, and the store applies it in parts.
func (a *Aggregator) Apply(ctx context.Context, b Batch) (Result, error) {
	records := b.Records
	shapes, err := a.shapesOf(ctx, records)
	if err != nil {
		return Result{}, err
	}
	var res Result
	alone := false // the next range is its first record alone
	for {
		// Records that count nothing need no checkpoint, since a
		// redelivery of them counts nothing either; so a range starts at
		// one that counts, and a record too big alone is a range alone.
		records = counting(records, shapes)
		if len(records) == 0 {
			return res, nil
		}
		n := 1
		if !alone {
			n = fitting(records, shapes)
		}
		deltas, asOf, changes := sum(records[:n], shapes)
		first, last := records[0].SequenceNumber, records[n-1].SequenceNumber
		applied, checkpoint, err := a.store.ApplyDeltas(ctx, b.Shard, first, last, asOf, deltas)
		if err != nil {
			return res, fmt.Errorf("aggregate %d changes: %w", changes, err)
		}
		if applied {
			res.Applied, res.Changes = true, res.Changes+changes
			records, alone = records[n:], false
			continue
		}
		if checkpoint == "" {
			return res, fmt.Errorf("aggregate: stream shard %q refused records %s to %s without naming its checkpoint", b.Shard, first, last)
		}
		rest := uncounted(records, checkpoint)
		if len(rest) == len(records) {
			if n == 1 {
				return res, fmt.Errorf("aggregate: stream shard %q's checkpoint %s refuses record %s it has not counted", b.Shard, checkpoint, first)
			}
			// The first record is counted in part (store.Counted): it
			// was applied alone, in parts, and goes alone again.
			alone = true
		}
		records = rest
	}
}

// fitting is how many of records, from the first (one that counts), go in
// one transaction: as many as their summed deltas fit (store.DeltaItems:
// store.MaxDeltaItems in all, store.AggregateShards of one key), and at
// least the first: too big alone, it is applied in parts by the store.
func fitting(records []Record, shapes experiment.Shapes) int {
	acc := map[string]experiment.Aggregates{}
	sizes := map[string]int{}
	total := 0
	for i, r := range records {
		key, d, ok := countable(r, shapes)
		if !ok {
			continue
		}
		n := store.DeltaItems(addTo(acc, key, d))
		total += n - sizes[key]
		sizes[key] = n
		if total > store.MaxDeltaItems || n > store.AggregateShards {
			return max(i, 1)
		}
	}
	return len(records)
}

// counting returns records from the first that counts a change.
func counting(records []Record, shapes experiment.Shapes) []Record {
	for i, r := range records {
		if _, _, ok := countable(r, shapes); ok {
			return records[i:]
		}
	}
	return nil
}

// countable is the change r counts, if any (delta, not zero).
func countable(r Record, shapes experiment.Shapes) (key string, d experiment.Aggregates, ok bool) {
	key, d, ok = delta(r, shapes)
	return key, d, ok && !d.IsZero()
}

// addTo adds d to deltas[key] and returns the sum.
func addTo(deltas map[string]experiment.Aggregates, key string, d experiment.Aggregates) experiment.Aggregates {
	total, ok := deltas[key]
	if !ok {
		total = experiment.NewAggregates()
		deltas[key] = total
	}
	total.Add(d)
	return total
}

// sum adds up the counted changes of records by the counters they move
// (an experiment's, or a holdout's: store.HoldoutCounters).
func sum(records []Record, shapes experiment.Shapes) (deltas map[string]experiment.Aggregates, asOf time.Time, changes int) {
	deltas = map[string]experiment.Aggregates{}
	for _, r := range records {
		key, d, ok := countable(r, shapes)
		if !ok {
			continue
		}
		addTo(deltas, key, d)
		changes++
		if r.At.After(asOf) {
			asOf = r.At
		}
	}
	return deltas, asOf, changes
}

// uncounted returns the records from the first that checkpoint does not
// count wholly (store.Counted).
func uncounted(records []Record, checkpoint string) []Record {
	for i, r := range records {
		if !store.Counted(r.SequenceNumber, checkpoint) {
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
