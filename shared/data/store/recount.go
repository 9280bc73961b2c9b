package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
)

// RecountSegments is how many parallel scan segments a recount runs.
const RecountSegments = 8

// recountAttempts bounds how often a recount whose swap was refused starts
// again within one call.
const recountAttempts = 3

// ErrRecountConflict: counters kept changing while a recount ran, so it
// wrote nothing. Pausing the experiment first makes a recount settle.
var ErrRecountConflict = errors.New("counters changed during the recount")

// errValueMoved: a unit's metric value changed while the recount decided
// to set it; the job starts again (ErrRecountConflict once attempts run out).
var errValueMoved = fmt.Errorf("a metric value moved during the recount: %w", ErrRecountConflict)

// ErrRecountBusy: another call is running the same recount right now.
var ErrRecountBusy = errors.New("another call is running this recount")

// RecountProgress says how far a recount has come.
type RecountProgress struct {
	Done         bool
	Segments     int
	SegmentsDone int
	Units        int64 // the experiment's assignments counted so far
	Scanned      int64 // items read so far
	StartedAt    time.Time
	// Totals are the recounted counters, once Done.
	Totals experiment.Aggregates
}

// Recount rebuilds an experiment's counters from the stored items
// themselves (assignments, exposure items, event items), ignoring the live
// counters and the marks on assignments, running RecountStep until it is
// done. With write, it replaces the live counters with the result.
func (s *Store) Recount(ctx context.Context, key string, events []string, write bool) (experiment.Aggregates, error) {
	for {
		p, err := s.RecountStep(ctx, key, events, write, time.Time{})
		if err != nil {
			return experiment.Aggregates{}, err
		}
		if p.Done {
			return p.Totals, nil
		}
	}
}

// RecountStep advances the experiment's recount until until (the zero time:
// to the end) and says how far it is. The recount is a job kept in the
// table: a parallel scan in RecountSegments segments, each checkpointed
// after every page with its position and partial counts, so memory stays
// bounded (one page and one unit per segment) and a call that stops or
// dies is resumed by the next call where its last checkpoint left it.
// Calls for a dry run and for a write are separate jobs. A lease on the job
// keeps two calls from running it at once (ErrRecountBusy).
//
// Once every segment is done, a write replaces the 16 counter shards in one
// transaction on condition that none moved since the job started (else it
// starts the job again, up to recountAttempts times in one call, then
// ErrRecountConflict); the job's items are then deleted.
//
// What is counted is what the aggregator's deltas assume the counters are:
// the sum of the assignment items' contributions, each item read as it
// should be (marked exposed when an exposure item exists, converted on the
// declared names its stored events convert). Marks: with write, a unit
// whose item lacks such a mark (a name declared after its events arrived)
// gets it, which the aggregator counts when the stream
// delivers it. The swap therefore writes the recount minus those new marks'
// contributions, so the counters equal the recount whether the stream
// delivers the marks before the swap (the swap is refused, the recount
// starts again and finds them marked) or after it.
func (s *Store) RecountStep(ctx context.Context, key string, events []string, write bool, until time.Time) (RecountProgress, error) {
	for attempt := 1; ; attempt++ {
		p, err := s.recountStep(ctx, key, events, write, until)
		if errors.Is(err, ErrRecountConflict) && attempt < recountAttempts && (until.IsZero() || time.Now().Before(until)) {
			continue
		}
		return p, err
	}
}

func (s *Store) recountStep(ctx context.Context, key string, events []string, write bool, until time.Time) (_ RecountProgress, err error) {
	job, err := s.leaseRecount(ctx, key, events, write, until)
	if err != nil {
		return RecountProgress{}, err
	}
	defer func() {
		// A call that fails frees the job for the next one at once (the job
		// may be gone already: then there is nothing to free). One that dies
		// holds it until its lease runs out.
		if err != nil && !errors.Is(err, ErrRecountConflict) {
			if rerr := s.releaseRecount(context.WithoutCancel(ctx), job); rerr != nil && !isConditionFailed(rerr) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	segs, err := s.recountSegments(ctx, job)
	if err != nil {
		return RecountProgress{}, err
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, seg := range segs {
		if seg.Done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.scanSegment(ctx, job, seg, until); err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if errors.Is(firstErr, errValueMoved) {
		// Start over: the values decided on are stale.
		if derr := s.deleteRecount(ctx, job); derr != nil {
			return RecountProgress{}, errors.Join(firstErr, derr)
		}
	}
	if firstErr != nil {
		return RecountProgress{}, fmt.Errorf("recount %q: %w", key, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return RecountProgress{}, err
	}
	p := RecountProgress{Segments: job.Segments, StartedAt: job.StartedAt}
	totals, marked := make([]experiment.Aggregates, AggregateShards), make([]experiment.Aggregates, AggregateShards)
	for i := range totals {
		totals[i], marked[i] = experiment.NewAggregates(), experiment.NewAggregates()
	}
	for _, seg := range segs {
		p.Units += seg.Units
		p.Scanned += seg.Scanned
		if seg.Done {
			p.SegmentsDone++
		}
		for i := range totals {
			totals[i].Add(seg.Totals[i].aggregates())
			marked[i].Add(seg.Marked[i].aggregates())
		}
	}
	if p.SegmentsDone < p.Segments {
		return p, s.releaseRecount(ctx, job)
	}
	p.Done = true
	p.Totals = experiment.NewAggregates()
	for _, g := range totals {
		p.Totals.Add(g)
	}
	if write {
		swap := make([]experiment.Aggregates, AggregateShards)
		for i := range swap {
			swap[i] = experiment.NewAggregates()
			swap[i] = totals[i].Minus(marked[i])
		}
		if err := s.replaceShards(ctx, key, swap, job.before()); err != nil {
			if errors.Is(err, ErrRecountConflict) {
				// Start over: what moved the counters is then included.
				if derr := s.deleteRecount(ctx, job); derr != nil {
					return p, errors.Join(err, derr)
				}
			}
			return p, err
		}
	}
	return p, s.deleteRecount(ctx, job)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// scanSegment reads one segment page by page from its checkpoint, folding
// each unit's items into the segment's partial counts, and checkpoints
// after every page. It stops at the end of the segment, or when the next
// page would likely end past until; every call reads at least one page.
//
// A scan returns the items of one partition (one unit) together and in
// sort key order (ASG# < EVT# < EXPO#), so a unit's assignment comes before
// its events and exposures; the unit in progress at a page's end is kept in
// the checkpoint. (DynamoDB stores a partition's items together, sorted by
// sort key, and a scan reads them in that order; the recount equality tests
// would fail if DynamoDB Local did otherwise.)
func (s *Store) scanSegment(ctx context.Context, job *recountJob, seg *recountSegment, until time.Time) error {
	in := &dynamodb.ScanInput{
		TableName:                aws.String(s.table),
		Segment:                  aws.Int32(int32(seg.Index)),
		TotalSegments:            aws.Int32(int32(job.Segments)),
		ConsistentRead:           aws.Bool(true),
		FilterExpression:         aws.String("(begins_with(#pk, :user) OR begins_with(#pk, :device)) AND (#sk = :asg OR begins_with(#sk, :expo) OR begins_with(#sk, :evt))"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":user": avS(userPrefix), ":device": avS(devicePrefix), ":asg": avS(assignmentSK(job.Key)), ":expo": avS(exposurePrefix(job.Key)), ":evt": avS(eventSK("")),
		},
	}
	in.Limit = aws.Int32(recountPageItems)
	if err := s.writeMarks(ctx, job, seg); err != nil { // a call that stopped after its checkpoint
		return err
	}
	var last time.Duration // how long the last page took, scan to checkpoint
	for pages := 0; !seg.Done; pages++ {
		// Stop when another page like the last would end past until: a
		// checkpoint cut off by the function's timeout would lose the page.
		if pages > 0 && !until.IsZero() && time.Now().Add(last).After(until) {
			return nil
		}
		began := time.Now()
		start, err := decodeStartKey(seg.Start)
		if err != nil {
			return err
		}
		in.ExclusiveStartKey = start
		page, err := s.db.Scan(ctx, in)
		if err != nil {
			return fmt.Errorf("scan segment %d: %w", seg.Index, err)
		}
		if missing := job.shapes.missing(page.Items); len(missing) > 0 {
			if _, err := job.shapes.fill(ctx, s, missing); err != nil {
				return fmt.Errorf("scan segment %d: %w", seg.Index, err)
			}
		}
		seg.shapes = job.shapes.snapshot()
		for _, it := range page.Items {
			s.foldItem(job, seg, it)
		}
		seg.Scanned += int64(page.ScannedCount)
		if page.LastEvaluatedKey == nil {
			s.finishUnit(job, seg)
			seg.Done = true
		}
		seg.Start = encodeStartKey(page.LastEvaluatedKey)
		// The checkpoint first, then the page's marks: a call that stops in
		// between leaves them pending in the checkpoint for the next call,
		// and a call that stops before the checkpoint wrote none of them,
		// so every mark is counted in Marked exactly once.
		if err := s.checkpointSegment(ctx, job, seg); err != nil {
			return err
		}
		if err := s.writeMarks(ctx, job, seg); err != nil {
			return err
		}
		last = time.Since(began)
	}
	return nil
}

// recountPageItems bounds the items of one scan page (DynamoDB also stops
// a page at 1 MB, about 4,000 of these items), and so the marks a
// checkpoint may hold pending. Fewer, larger pages matter on DynamoDB
// Local, whose scan page costs grow with the table. A variable so tests
// can make pages small.
var recountPageItems int32 = 4000

// writeMarks writes the segment's pending marks.
func (s *Store) writeMarks(ctx context.Context, job *recountJob, seg *recountSegment) error {
	for _, m := range seg.Pending {
		if err := s.markAssignment(ctx, job.Key, m); err != nil {
			return err
		}
	}
	seg.Pending = nil
	return nil
}

// foldItem adds one scanned item to the unit in progress, finishing the
// previous unit when the partition changes.
func (s *Store) foldItem(job *recountJob, seg *recountSegment, it item) {
	pk, sk := getS(it, AttrPK), getS(it, AttrSK)
	if seg.Unit == nil || seg.Unit.PK != pk {
		s.finishUnit(job, seg)
		seg.Unit = &unitTally{PK: pk}
	}
	u := seg.Unit
	switch {
	case sk == assignmentSK(job.Key):
		a := decodeAssignment(it)
		u.Assigned, u.Variant, u.AssignedAt, u.Marks, u.FirstExposedAt = true, a.Variant, a.AssignedAt, a.Conversions, a.FirstExposedAt
		u.Values, u.Stored = a.Values, storedValues(it)
	case strings.HasPrefix(sk, exposurePrefix(job.Key)):
		// Exposure ids are UUID v7, so the first in sort order is the
		// earliest.
		if !u.Exposed {
			u.Exposed, u.ExposedAt = true, getT(it, "exposed_at")
		}
	case strings.HasPrefix(sk, eventSK("")):
		if !u.Assigned { // no assignment in this experiment: its events cannot convert for it
			return
		}
		ev := decodeEvent(it)
		a := &experiment.Assignment{Experiment: job.Key, AssignedAt: u.AssignedAt, FirstExposedAt: u.FirstExposedAt}
		if slices.Contains(job.Events, ev.Name) && !slices.Contains(u.Converted, ev.Name) && experiment.Converts(a, ev) {
			u.Converted = append(u.Converted, ev.Name)
		}
		for k, v := range metric.AddsAll(job.metrics, a, ev) {
			u.recount(k, v)
		}
		// The covariate of each metric the experiment names: what the unit
		// did in the lookback window, stored before its first exposure (the
		// exposure read its daily totals then). A unit whose first exposure the item does not record
		// (one the recount marks exposed) has none.
		if u.FirstExposedAt.IsZero() || !ev.ReceivedAt.Before(u.FirstExposedAt) || !experiment.InPreWindow(ev.Timestamp, u.FirstExposedAt, job.lookback()) {
			return
		}
		for k, pre := range metric.HistoryAll(job.metrics, ev) {
			if slices.Contains(job.Covariates, k) {
				u.recount(k, experiment.Value{Pre: pre})
			}
		}
	}
}

// finishUnit counts the unit in progress as its assignment item should
// read: exposed when it has the mark or an exposure item, converted on its
// marks and on the declared events its stored events convert. The counters
// are the sum of assignment items' contributions (experiment.Contribution,
// what the aggregator's deltas assume), so that is what a recount counts.
// With write, it queues the marks that would make the item read so, and
// the change they will cause when the stream delivers them.
func (s *Store) finishUnit(job *recountJob, seg *recountSegment) {
	u := seg.Unit
	seg.Unit = nil
	if u == nil || !u.Assigned {
		return
	}
	unit, _ := unitOfPK(u.PK)
	shard := shardOf(unit.ID)
	before := &experiment.Assignment{Experiment: job.Key, Unit: unit, Variant: u.Variant, FirstExposedAt: u.FirstExposedAt, Conversions: u.Marks, Values: u.Values}
	after := *before
	var repair pendingMarks
	after.Values, repair.Values, repair.Old = recountedValues(job.Metrics, u.Values, u.Recounted)
	if len(repair.Values) > 0 {
		repair.Stored = u.Stored
	}
	if after.FirstExposedAt.IsZero() && u.Exposed {
		after.FirstExposedAt, repair.ExposedAt = u.ExposedAt, u.ExposedAt
	}
	after.Conversions = slices.Clone(u.Marks)
	for _, name := range u.Converted {
		if !slices.Contains(after.Conversions, name) {
			after.Conversions = append(after.Conversions, name)
			repair.Names = append(repair.Names, name)
		}
	}
	seg.Totals[shard].add(experiment.ContributionOf(&after, seg.shapes))
	seg.Units++
	if !job.Write || (len(repair.Names) == 0 && repair.ExposedAt.IsZero() && len(repair.Values) == 0) {
		return
	}
	repair.PK = u.PK
	seg.Pending = append(seg.Pending, repair)
	// The aggregator counts this when the stream delivers the marks.
	seg.Marked[shard].add(experiment.DeltaOf(before, &after, seg.shapes))
}

// recountedValues are a unit's metric values as the recount finds them:
// each of the job's metrics (the live ones) takes what the unit's stored
// events give (recounted), and other metrics keep the item's values.
// changed and old are the values to set where they differ from the item's
// (zero: remove), and the item's values there.
func recountedValues(metrics []string, item, recounted map[string]experiment.Value) (after, changed, old map[string]experiment.Value) {
	after = map[string]experiment.Value{}
	for k, v := range item {
		after[k] = v
	}
	for _, k := range metrics {
		v := recounted[k]
		if v == item[k] {
			continue
		}
		if changed == nil {
			changed, old = map[string]experiment.Value{}, map[string]experiment.Value{}
		}
		changed[k], old[k] = v, item[k]
		if v == (experiment.Value{}) {
			delete(after, k)
		} else {
			after[k] = v
		}
	}
	return after, changed, old
}

// markAssignment writes on an assignment the marks a recount found missing:
// conversions on names declared after their events arrived, and the first
// exposure of a unit whose exposure item has no mark. A unit erased
// meanwhile is left alone.
func (s *Store) markAssignment(ctx context.Context, key string, m pendingMarks) error {
	var set, add, remove []string
	names := map[string]string{"#pk": AttrPK}
	values := map[string]types.AttributeValue{}
	cond := "attribute_exists(#pk)"
	i := 0
	for _, k := range sortedKeys(m.Values) {
		v, o := m.Values[k], m.Old[k]
		was := sidesOf(k, o)
		for j, side := range sidesOf(k, v) {
			now, before := side.n, was[j].n
			if now == before {
				continue
			}
			name, value, prev := fmt.Sprintf("#v%d", i), fmt.Sprintf(":v%d", i), fmt.Sprintf(":o%d", i)
			i++
			names[name] = side.attr
			if now == 0 {
				remove = append(remove, name)
			} else {
				set = append(set, name+" = "+value)
				values[value] = avDecimal(now)
			}
			if before == 0 {
				cond += " AND attribute_not_exists(" + name + ")"
			} else {
				cond += " AND " + name + " = " + prev
				values[prev] = avDecimal(before)
				if raw, ok := m.Stored[side.attr]; ok {
					values[prev] = &types.AttributeValueMemberN{Value: raw}
				}
			}
		}
	}
	if !m.ExposedAt.IsZero() {
		set = append(set, "#fx = if_not_exists(#fx, :fx)")
		names["#fx"], values[":fx"] = "first_exposed_at", avT(m.ExposedAt)
	}
	if len(m.Names) > 0 {
		add = append(add, "#conv :names")
		names["#conv"], values[":names"] = "conversions", &types.AttributeValueMemberSS{Value: m.Names}
	}
	expr := ""
	if len(set) > 0 {
		expr = "SET " + strings.Join(set, ", ")
	}
	if len(add) > 0 {
		expr = strings.TrimSpace(expr + " ADD " + strings.Join(add, ", "))
	}
	if len(remove) > 0 {
		expr = strings.TrimSpace(expr + " REMOVE " + strings.Join(remove, ", "))
	}
	if len(values) == 0 {
		values = nil
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(m.PK, assignmentSK(key)),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if ccf.Item == nil {
			return nil // erased meanwhile: nothing to mark
		}
		if m.holds(ccf.Item) {
			// Written before: a call that stopped after writing a page's
			// marks leaves them in its checkpoint, and the next call writes
			// them again. The stream counted them once.
			return nil
		}
		// An event moved a value since the recount read it: what the
		// recount found is stale, so it starts again.
		return fmt.Errorf("mark assignment of %q: %w", m.PK, errValueMoved)
	}
	if err != nil {
		return fmt.Errorf("mark assignment of %q: %w", m.PK, err)
	}
	return nil
}

// holds reports whether an assignment item already holds every metric
// value m sets (and lacks those it removes).
func (m pendingMarks) holds(it item) bool {
	stored := storedValues(it)
	for k, v := range m.Values {
		for _, side := range sidesOf(k, v) {
			raw, ok := stored[side.attr]
			if side.n == 0 {
				if ok {
					return false
				}
				continue
			}
			f, err := strconv.ParseFloat(raw, 64)
			if !ok || err != nil || f != side.n {
				return false
			}
		}
	}
	return true
}

// replaceShards swaps every counter shard for its recounted value at once,
// on condition that no shard changed since it was read (before).
func (s *Store) replaceShards(ctx context.Context, key string, shards []experiment.Aggregates, before map[string]item) error {
	items := make([]types.TransactWriteItem, len(shards))
	for i, g := range shards {
		pk := aggregatePK(key, i)
		it := keyOf(pk, skAggregate)
		for _, c := range counterAttrs(g) {
			it[c.attr] = c.value
		}
		put := &types.Put{TableName: aws.String(s.table), Item: it, ExpressionAttributeNames: map[string]string{}}
		if old, ok := before[pk]; ok {
			if at, has := old[attrAsOf]; has {
				it[attrAsOf] = at // the recount includes what the shard did
			}
			version := getN(old, shardVersion)
			it[shardVersion] = avN(version + 1)
			put.ConditionExpression = aws.String("#ver = :ver")
			put.ExpressionAttributeNames["#ver"] = shardVersion
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":ver": avN(version)}
			if _, has := old[shardVersion]; !has {
				put.ConditionExpression = aws.String("attribute_not_exists(#ver)")
				put.ExpressionAttributeValues = nil
			}
		} else {
			it[shardVersion] = avN(1)
			put.ConditionExpression = aws.String("attribute_not_exists(#pk)")
			put.ExpressionAttributeNames["#pk"] = AttrPK
		}
		items[i] = types.TransactWriteItem{Put: put}
	}
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	for i := range items {
		if r, ok := cancellation(err, i); ok && deref(r.Code) == conditionFailed {
			return fmt.Errorf("replace counters of %q: %w", key, ErrRecountConflict)
		}
	}
	if err != nil {
		return fmt.Errorf("replace counters of %q: %w", key, err)
	}
	return nil
}

// newJobID names a recount job; its segments carry it, so the checkpoints
// of an abandoned job are never mixed into a new one.
func newJobID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("recount job id: %w", err)
	}
	return u.String(), nil
}
