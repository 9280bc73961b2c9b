package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// MaxDeltaItems is the most counter items one ApplyDeltas transaction
// holds beside the checkpoint, in all; of one key's it holds at most
// AggregateShards, since each goes to its own counter shard and a
// transaction touches an item once. DeltaItems says how many a delta takes.
const MaxDeltaItems = maxApplied

// DeltaItems is how many counter items ApplyDeltas writes for one key's
// delta d: one per maxCountersPerUpdate counters, at least one.
func DeltaItems(d experiment.Aggregates) int {
	return len(chunkCounters(counterAttrs(d), maxCountersPerUpdate))
}

// sortedCounters are d's counters in attribute order, so the same delta is
// cut into the same items, and the items into the same parts, on every
// delivery (applyInParts relies on it).
func sortedCounters(d experiment.Aggregates) []counter {
	cs := counterAttrs(d)
	slices.SortFunc(cs, func(a, b counter) int { return cmp.Compare(a.attr, b.attr) })
	return cs
}

// seqBefore is the checkpoint's condition for a batch (or a record's first
// part) starting at :from: nothing counted yet, or only records before it.
const seqBefore = "attribute_not_exists(#seq) OR #seq < :from"

// checkpointStep moves stream shard streamShard's checkpoint to next when
// it meets cond about :from, returning the stored checkpoint when it does
// not.
func (s *Store) checkpointStep(streamShard, cond, from, next string, asOf time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(checkpointPK(streamShard), skCheckpoint),
		UpdateExpression:                    aws.String("SET #seq = :next, #at = :at"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            map[string]string{"#seq": "seq", "#at": attrAsOf},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":next": avS(next), ":from": avS(from), ":at": avT(asOf)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// parts cuts counter items into transactions: at most maxApplied items
// each, and no item twice in one (a key's items past AggregateShards wrap
// round to its first shards again). One part when they fit one transaction.
func parts(items []types.TransactWriteItem) [][]types.TransactWriteItem {
	var out [][]types.TransactWriteItem
	var cur []types.TransactWriteItem
	seen := map[string]bool{}
	for _, it := range items {
		pk := getS(it.Update.Key, AttrPK)
		if len(cur) == maxApplied || seen[pk] {
			out, cur, seen = append(out, cur), nil, map[string]bool{}
		}
		cur, seen[pk] = append(cur, it), true
	}
	return append(out, cur)
}

// partSep separates a record's sequence number from the parts of it
// counted, in a checkpoint: "<seq>/<k>" is record seq with its first k
// parts applied and the rest not.
const partSep = "/"

func partKey(seq string, k int) string { return fmt.Sprintf("%s%s%06d", seqKey(seq), partSep, k) }

// Counted reports whether the stream record seq is wholly counted by a
// stream shard's checkpoint as ApplyDeltas returns it: at or before the
// last whole record counted, or before a record counted in part.
func Counted(seq, checkpoint string) bool {
	whole, _, inPart := strings.Cut(checkpoint, partSep)
	if inPart {
		return seqKey(seq) < seqKey(whole)
	}
	return seqKey(seq) <= seqKey(whole)
}

// applyInParts applies the counter items of one record, too many for one
// transaction, in consecutive transactions, each moving the stream shard's
// checkpoint one step: to "seq/1" (from anything before seq), "seq/1" to
// "seq/2", ..., and the last to seq itself. Exactly once, because:
//   - a part applies only from the exact checkpoint its predecessor left,
//     in the same transaction as that step, so no part applies twice, and
//     none before the one preceding it;
//   - the parts are the same on every delivery: the record's delta is a
//     function of its images and the metric shapes (fixed at a metric's
//     creation), its counters are sorted, and cut the same way (parts);
//   - a delivery that finds the checkpoint at "seq/k" (an earlier one
//     stopped after part k) goes on from part k+1; one that finds it at seq
//     or beyond applies nothing, as for any redelivered batch;
//   - "seq/k" sorts after seq and before every later record, so a batch
//     starting at seq or at an earlier record is refused (seqBefore) while
//     seq is in part, and the caller (the aggregator) sends seq alone again
//     (Counted: seq is not counted yet).
//
// Meanwhile readers may see the record counted in part (some counters
// moved, others not yet), never twice. A stream that skipped the rest of
// seq (a record past the stream's retention) would leave it in part, as it
// would leave a skipped record uncounted: the next batch starts after it.
func (s *Store) applyInParts(ctx context.Context, streamShard, seq string, asOf time.Time, ps [][]types.TransactWriteItem) (applied bool, checkpoint string, err error) {
	for done := 0; done < len(ps); done++ {
		cond, from := seqBefore, seqKey(seq)
		if done > 0 {
			cond, from = "#seq = :from", partKey(seq, done)
		}
		next := seqKey(seq)
		if done+1 < len(ps) {
			next = partKey(seq, done+1)
		}
		items := append([]types.TransactWriteItem{s.checkpointStep(streamShard, cond, from, next, asOf)}, ps[done]...)
		err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
			stored := getS(r.Item, "seq")
			if k, ok := partOf(stored, seq); ok && k > done && k < len(ps) {
				done = k - 1 // an earlier delivery applied parts 1..k: go on from k+1
				continue
			}
			return false, strings.TrimLeft(stored, "0"), nil
		}
		if err != nil {
			return false, "", fmt.Errorf("apply part %d of %d of stream record %s of shard %q: %w", done+1, len(ps), seq, streamShard, err)
		}
	}
	return true, seq, nil
}

// partOf reads k from a stored checkpoint "seq/k" of record seq.
func partOf(stored, seq string) (int, bool) {
	rest, ok := strings.CutPrefix(stored, seqKey(seq)+partSep)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(rest)
	return k, err == nil
}
