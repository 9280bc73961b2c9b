package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// ReadAggregates sums an experiment's counter shards: one BatchGetItem
// whatever the number of users.
func (s *Store) ReadAggregates(ctx context.Context, key string) (experiment.Aggregates, error) {
	shards, err := s.readShards(ctx, key)
	if err != nil {
		return experiment.Aggregates{}, err
	}
	g := experiment.NewAggregates()
	for _, it := range shards {
		addShard(&g, it)
	}
	return g, nil
}

// ReadHoldoutCounts sums a holdout's counter shards (one arm per group,
// see holdout.Contribution): one BatchGetItem whatever the number of units.
func (s *Store) ReadHoldoutCounts(ctx context.Context, key string) (experiment.Aggregates, error) {
	return s.ReadAggregates(ctx, HoldoutCounters(key))
}

// HoldoutCounters is the key under which deltas (ApplyDeltas) and reads
// name a holdout's counters; a plain key names an experiment's. Experiment
// keys never hold '#', so the two never meet.
func HoldoutCounters(key string) string { return holdoutPK(key) }

// countersPK is the partition key of counter shard i of counters key: an
// experiment key, or HoldoutCounters(key).
func countersPK(key string, shard int) string {
	if strings.HasPrefix(key, holdoutPK("")) {
		return fmt.Sprintf("%s#AGG#%02d", key, shard)
	}
	return aggregatePK(key, shard)
}

// readShards reads the existing counter shards of an experiment (or of a
// holdout, named by HoldoutCounters), by shard partition key.
func (s *Store) readShards(ctx context.Context, key string) (map[string]item, error) {
	keys := make([]map[string]types.AttributeValue, AggregateShards)
	for i := range keys {
		keys[i] = keyOf(countersPK(key, i), skAggregate)
	}
	shards := map[string]item{}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt >= 10 {
			return nil, fmt.Errorf("read aggregates %q: unprocessed keys after %d attempts", key, attempt)
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("read aggregates %q: %w", key, err)
		}
		for _, it := range out.Responses[s.table] {
			shards[getS(it, AttrPK)] = it
		}
		req = out.UnprocessedKeys
	}
	return shards, nil
}

func addShard(g *experiment.Aggregates, it item) {
	if t := getT(it, attrAsOf); t.After(g.AsOf) {
		g.AsOf = t
	}
	for name, av := range it {
		n, ok := av.(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		kind, rest, _ := strings.Cut(name, ":")
		if kind == "s" {
			addSumAttr(g, rest, n.Value)
			continue
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			continue
		}
		switch kind {
		case "a":
			g.Assigned[rest] += v
		case "x":
			g.Exposed[rest] += v
		case "c":
			variant, event, ok := strings.Cut(rest, ":")
			if ok {
				g.AddConverted(variant, event, v)
			}
		case "m":
			g.Marked[rest] += v
		}
	}
}

// attrAsOf is when the newest change a counter shard includes was made.
const attrAsOf = "as_of"

// maxApplied bounds the counter items one ApplyDeltas transaction holds:
// one transaction holds 100 items, one of them the checkpoint.
const maxApplied = maxTransactItems - 1

// ApplyDeltas adds a batch of changes from one stream shard to the
// counters: deltas by experiment key, all to the counter shard that stream
// shard owns, with the stream shard's checkpoint, in one transaction. The
// transaction applies only if the checkpoint is before first (the batch's
// first sequence number) and moves it to last, so a batch delivered again
// changes nothing: applied is false and checkpoint is where the stream
// shard's counting stands (see Counted), so the caller can apply what lies
// after it. Many stream shards share the 16 counter shards of an
// experiment; each batch writes one item per experiment (more for one with
// many counters). A key of deltas is an experiment's key or a holdout's
// HoldoutCounters(key): both kinds go in the same transaction.
//
// Deltas must fit one transaction (DeltaItems: at most MaxDeltaItems in
// all, AggregateShards of one key), except those of a single record
// (first == last), which are applied in consecutive parts, each with its
// own step of the checkpoint (applyInParts).
func (s *Store) ApplyDeltas(ctx context.Context, streamShard, first, last string, asOf time.Time, deltas map[string]experiment.Aggregates) (applied bool, checkpoint string, err error) {
	if len(deltas) > maxApplied {
		return false, "", fmt.Errorf("apply deltas: %d experiments in one batch, at most %d", len(deltas), maxApplied)
	}
	var counters []types.TransactWriteItem
	shard := shardOfStream(streamShard)
	for _, key := range sortedKeys(deltas) {
		counters = append(counters, s.counterUpdates(key, shard, deltas[key], asOf)...)
	}
	if ps := parts(counters); len(ps) > 1 {
		if first != last {
			return false, "", fmt.Errorf("apply deltas: records %s to %s need %d counter items, more than one transaction holds (MaxDeltaItems): split them", first, last, len(counters))
		}
		return s.applyInParts(ctx, streamShard, first, asOf, ps)
	}
	items := append([]types.TransactWriteItem{s.checkpointStep(streamShard, seqBefore, seqKey(first), seqKey(last), asOf)}, counters...)
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
		// Applied before, in part or whole: a redelivered batch.
		return false, strings.TrimLeft(getS(r.Item, "seq"), "0"), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("apply deltas of stream shard %q: %w", streamShard, err)
	}
	return true, last, nil
}

// counterUpdates adds d to counter shard shard of counters key and bumps
// the shard's version, which a recount's swap checks. A delta with more
// counters than one update expression holds (many metrics at once) goes
// to the next shards too: the counters are the sum of every shard.
func (s *Store) counterUpdates(key string, shard int, d experiment.Aggregates, asOf time.Time) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for j, chunk := range chunkCounters(sortedCounters(d), maxCountersPerUpdate) {
		names := map[string]string{"#ver": shardVersion, "#at": attrAsOf}
		values := map[string]types.AttributeValue{":one": avN(1), ":at": avT(asOf)}
		expr := "SET #at = :at ADD #ver :one"
		for i, c := range chunk {
			name, value := fmt.Sprintf("#c%d", i), fmt.Sprintf(":c%d", i)
			names[name], values[value] = c.attr, c.value
			expr += ", " + name + " " + value
		}
		out = append(out, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(countersPK(key, (shard+j)%AggregateShards), skAggregate),
			UpdateExpression:          aws.String(expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}})
	}
	return out
}

// maxCountersPerUpdate keeps one update expression well under DynamoDB's
// 4 KB for expressions (", #c123 :c123" is 13 bytes).
const maxCountersPerUpdate = 200

// counter is one counter attribute of a shard and its number.
type counter struct {
	attr  string
	value types.AttributeValue
}

// counterAttrs lists d's counters as shard attributes (at least one list,
// maybe empty, so the shard's version moves).
func counterAttrs(d experiment.Aggregates) []counter {
	var out []counter
	for v, n := range d.Assigned {
		out = append(out, counter{assignedAttr(v), avN(n)})
	}
	for v, n := range d.Exposed {
		out = append(out, counter{exposedAttr(v), avN(n)})
	}
	for v, m := range d.Converted {
		for e, n := range m {
			out = append(out, counter{convertedAttr(v, e), avN(n)})
		}
	}
	for e, n := range d.Marked {
		out = append(out, counter{markedAttr(e), avN(n)})
	}
	for v, m := range d.Sums {
		for k, x := range m {
			for _, f := range sumFields {
				if n := *f.of(&x); n != 0 {
					out = append(out, counter{sumAttr(v, k, f.name), avDecimal(n)})
				}
			}
		}
	}
	return out
}

func chunkCounters(cs []counter, size int) [][]counter {
	if len(cs) == 0 {
		return [][]counter{nil}
	}
	var out [][]counter
	for len(cs) > 0 {
		n := min(size, len(cs))
		out = append(out, cs[:n])
		cs = cs[n:]
	}
	return out
}

// sumAttr names a metric's sum in a counter shard: s:<variant>:<metric>:<field>
// with field x, xx, y, yy, xy, p, pp or xp (experiment.Sums).
func sumAttr(variant, metric, field string) string {
	return "s:" + variant + ":" + metric + ":" + field
}

// sumFields name the fields of experiment.Sums in shard attributes.
var sumFields = []struct {
	name string
	of   func(*experiment.Sums) *float64
}{
	{"x", func(s *experiment.Sums) *float64 { return &s.X }},
	{"xx", func(s *experiment.Sums) *float64 { return &s.XX }},
	{"y", func(s *experiment.Sums) *float64 { return &s.Y }},
	{"yy", func(s *experiment.Sums) *float64 { return &s.YY }},
	{"xy", func(s *experiment.Sums) *float64 { return &s.XY }},
	{"p", func(s *experiment.Sums) *float64 { return &s.P }},
	{"pp", func(s *experiment.Sums) *float64 { return &s.PP }},
	{"xp", func(s *experiment.Sums) *float64 { return &s.XP }},
}

// addSumAttr adds a shard's sum attribute (named without its "s:") to g.
func addSumAttr(g *experiment.Aggregates, rest, number string) {
	f, err := strconv.ParseFloat(number, 64)
	parts := strings.Split(rest, ":")
	if err != nil || len(parts) != 3 {
		return
	}
	var x experiment.Sums
	for _, field := range sumFields {
		if field.name == parts[2] {
			*field.of(&x) = f
		}
	}
	g.AddSums(parts[0], parts[1], x)
}

// seqKey makes stream sequence numbers (decimal strings of up to 40 digits)
// compare as strings in the order they compare as numbers.
func seqKey(seq string) string {
	const width = 48
	if len(seq) >= width {
		return seq
	}
	return strings.Repeat("0", width-len(seq)) + seq
}

// shardOfStream is the counter shard a stream shard writes to.
func shardOfStream(streamShard string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(streamShard))
	return int(h.Sum32() % AggregateShards)
}

// DecodeAssignment reads an assignment from a stream image of an item, or
// returns false when the item is not an assignment.
func DecodeAssignment(img map[string]types.AttributeValue) (*experiment.Assignment, bool) {
	if img == nil || !strings.HasPrefix(getS(img, AttrSK), "ASG#") || !isUnitPK(getS(img, AttrPK)) {
		return nil, false
	}
	return decodeAssignment(img), true
}
