package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/domain/metric"
)

// UnitAssignments returns every assignment of a unit, in one Query.
func (s *Store) UnitAssignments(ctx context.Context, unit experiment.UnitRef) ([]*experiment.Assignment, error) {
	var out []*experiment.Assignment
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :asg)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(unitPK(unit)), ":asg": avS("ASG#")},
		ConsistentRead:            aws.Bool(true),
	}
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("assignments of %s: %w", unit, err)
		}
		for _, it := range page.Items {
			out = append(out, decodeAssignment(it))
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// maxTransactItems is DynamoDB's limit on items in one transaction.
const maxTransactItems = 100

// RecordEvent stores an event once per (unit, id): a repeated id returns
// stored=false and stores nothing new. In the same transaction it marks the
// event's name as converted on every assignment of the user it converts
// (see experiment.Converts) that had not converted on it yet: items of this
// unit only; the aggregator counts the marks. assignments are the user's
// assignments as read before; they are updated in place, and the event
// records which experiments they were (Evaluated), so a recount decides
// from the same facts.
//
// A repeated id also finishes any conversion an interrupted earlier attempt
// of the same event left undone, judged on the event as first stored. When
// the event is stored but a later step fails, stored is true with the error.
//
// counted says which experiments count the event's name (their declared
// conversion events): only those get a mark, so what clients send cannot
// grow the assignment items or the counters.
func (s *Store) RecordEvent(ctx context.Context, ev *experiment.Event, assignments []*experiment.Assignment, counted func(experiment string) bool) (stored bool, err error) {
	return s.RecordEventFor(ctx, ev, Convertible{Assignments: assignments, Counted: counted})
}

// Convertible are the unit's items an event may mark converted, as read
// before, and which of them count the event's name.
type Convertible struct {
	Assignments []*experiment.Assignment
	Counted     func(experiment string) bool
	// Metrics are the live metrics the event may feed, and Measured says
	// which experiments keep metric values (those not archived): each such
	// assignment takes what the event adds to its metric values
	// (metric.AddsAll), once. The event also adds to the unit's daily
	// totals of Metrics (the CUPED covariate's source), assigned or not.
	Metrics  []*metric.Metric
	Measured func(experiment string) bool
	// Memberships are the unit's holdout memberships; a membership is
	// marked by holdout.Converts, when HoldoutCounted(its holdout).
	Memberships    []*holdout.Membership
	HoldoutCounted func(holdout string) bool
}

// RecordEventFor is RecordEvent over the unit's assignments and holdout
// memberships alike: the marks and metric values go in the event's
// transaction, on items of this unit only, and the aggregator counts them.
// The event records which experiments' assignments took its values
// (Applied), in the same transaction, so a retry or a continuation adds
// none twice; and which were exposed when it arrived (Exposed), the fact a
// conversion window decides on.
func (s *Store) RecordEventFor(ctx context.Context, ev *experiment.Event, c Convertible) (stored bool, err error) {
	ev.Evaluated, ev.Exposed, ev.Applied = ev.Evaluated[:0], nil, nil
	for _, a := range c.Assignments {
		ev.Evaluated = append(ev.Evaluated, a.Experiment)
		if a.Exposed() {
			ev.Exposed = append(ev.Exposed, a.Experiment)
		}
	}
	put := &types.Put{
		TableName:                           aws.String(s.table),
		Item:                                s.encodeEvent(ev),
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	fail := func(err error) (bool, error) {
		return stored, fmt.Errorf("record event %q of %s: %w", ev.ID, ev.Unit, err)
	}
	withPut := true
	// The unit's daily totals take the event with its put, so once
	// whatever happens next.
	daily := s.dailyItem(ev, c.Metrics)
	for attempt := 0; attempt < stateAttempts; attempt++ {
		pending := c.pending(ev)
		room := maxTransactItems - 1 // the event's put, or its applied record
		if withPut && daily != nil {
			room--
		}
		items, used, updateAt := s.conversionItems(ev, pending, room)
		if withPut && len(items) == 0 && daily == nil {
			// Nothing to count: a plain conditional put, at half a
			// transaction's cost.
			old, err := s.putIfAbsent(ctx, put)
			if err != nil {
				return fail(err)
			}
			if old == nil {
				return true, nil
			}
			ev, withPut = decodeEvent(old), false
			continue
		}
		if !withPut && len(items) == 0 {
			return stored, nil
		}
		applied := appliedBy(used)
		head := s.appliedItem(ev, applied)
		if withPut {
			delete(put.Item, attrApplied)
			if len(applied) > 0 {
				put.Item[attrApplied] = &types.AttributeValueMemberSS{Value: applied}
			}
			head = &types.TransactWriteItem{Put: put}
		}
		var lead []types.TransactWriteItem
		if head != nil {
			lead = append(lead, *head)
		}
		if withPut && daily != nil {
			lead = append(lead, *daily)
		}
		items = append(lead, items...)
		for j := range updateAt {
			updateAt[j] += len(lead)
		}
		err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			stored = stored || withPut
			withPut = false
			for _, m := range used {
				m.commit(ev.Name)
			}
			ev.Applied = append(ev.Applied, applied...)
			if len(used) == len(pending) {
				return stored, nil
			}
			// More than one transaction holds: the event is stored; the
			// rest follow in further transactions.
			attempt = -1
			continue
		}
		if head != nil {
			if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed && r.Item != nil {
				// A retry (the event is stored), or its values moved on
				// meanwhile: carry on with the event as it is stored.
				ev, withPut, attempt = decodeEvent(r.Item), false, -1
				continue
			}
		}
		if !refreshFromCancellation(err, used, updateAt) {
			return fail(err)
		}
	}
	return fail(errStateChanged)
}

// attrApplied is the event attribute naming the experiments whose
// assignment took the event's metric values.
const attrApplied = "applied"

// appliedBy are the experiments of the assignments in used that take
// metric values.
func appliedBy(used []mark) []string {
	var out []string
	for _, m := range used {
		if m.a != nil && len(m.values) > 0 {
			out = append(out, m.a.Experiment)
		}
	}
	return out
}

// appliedItem is the update of a stored event that records more applied
// experiments, on condition that its record is the one read (the set only
// grows, so its size identifies it); nil when there are none.
func (s *Store) appliedItem(ev *experiment.Event, applied []string) *types.TransactWriteItem {
	if len(applied) == 0 {
		return nil
	}
	names := map[string]string{"#pk": AttrPK, "#ap": attrApplied}
	values := map[string]types.AttributeValue{":ap": &types.AttributeValueMemberSS{Value: applied}}
	cond := "attribute_exists(#pk) AND attribute_not_exists(#ap)"
	if len(ev.Applied) > 0 {
		cond = "attribute_exists(#pk) AND size(#ap) = :n"
		values[":n"] = avN(int64(len(ev.Applied)))
	}
	return &types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(unitPK(ev.Unit), eventSK(ev.ID)),
		UpdateExpression:                    aws.String("ADD #ap :ap"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// putIfAbsent sends a conditional Put on its own; when the item exists it
// writes nothing and returns the existing item.
func (s *Store) putIfAbsent(ctx context.Context, p *types.Put) (item, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: p.TableName, Item: p.Item,
		ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		if ccf.Item == nil {
			return item{}, nil
		}
		return ccf.Item, nil
	}
	return nil, err
}

// mark is one item an event changes: an assignment or a holdout membership
// of the unit (one of the two is set), marked converted on the event's name
// (name), and, for an assignment, taking metric values.
type mark struct {
	a      *experiment.Assignment
	m      *holdout.Membership
	name   bool
	values map[string]experiment.Value
}

// pending are the items ev changes: those it converts that are not marked
// with its name yet, and the assignments whose metric values it feeds and
// that have not taken them yet.
func (c Convertible) pending(ev *experiment.Event) []mark {
	var out []mark
	for _, a := range c.Assignments {
		k := mark{a: a, name: experiment.Converts(a, ev) && c.Counted(a.Experiment) && !a.Converted(ev.Name)}
		if c.Measured != nil && c.Measured(a.Experiment) && !slices.Contains(ev.Applied, a.Experiment) {
			k.values = metric.AddsAll(c.Metrics, a, ev)
		}
		if k.name || len(k.values) > 0 {
			out = append(out, k)
		}
	}
	for _, m := range c.Memberships {
		if c.HoldoutCounted != nil && holdout.Converts(m, ev) && c.HoldoutCounted(m.Holdout) && !m.Converted(ev.Name) {
			out = append(out, mark{m: m, name: true})
		}
	}
	return out
}

func (k mark) key() item {
	if k.a != nil {
		return keyOf(unitPK(k.a.Unit), assignmentSK(k.a.Experiment))
	}
	return keyOf(unitPK(k.m.Unit), membershipSK(k.m.Holdout))
}

// commit records a committed change in memory.
func (k mark) commit(name string) {
	switch {
	case k.a != nil:
		if k.name {
			k.a.Conversions = append(k.a.Conversions, name)
		}
		for key, v := range k.values {
			if k.a.Values == nil {
				k.a.Values = map[string]experiment.Value{}
			}
			k.a.Values[key] = k.a.Values[key].Plus(v)
		}
	case k.name:
		k.m.Conversions = append(k.m.Conversions, name)
	}
}

// refresh replaces the item in memory with its stored state.
func (k mark) refresh(it item) {
	if k.a != nil {
		*k.a = *decodeAssignment(it)
	} else {
		*k.m = *decodeMembership(it)
	}
}

// conversionItems builds, for as many pending items as fit in room (what
// the transaction leaves beside the event's own items), the update of each: the conversion mark, conditional
// on its absence (the aggregator counts it: for an assignment, once the
// unit is exposed), and the metric values, added (an update with values
// is conditional only on the item existing: a mark already there is
// simply added again). updateAt[j] is the index of used[j]'s update.
func (s *Store) conversionItems(ev *experiment.Event, pending []mark, room int) (items []types.TransactWriteItem, used []mark, updateAt []int) {
	for _, k := range pending {
		if len(items)+1 > room {
			break
		}
		updateAt = append(updateAt, len(items))
		names := map[string]string{"#pk": AttrPK}
		values := map[string]types.AttributeValue{}
		var adds []string
		cond := "attribute_exists(#pk)"
		if k.name {
			names["#conv"] = "conversions"
			values[":names"] = &types.AttributeValueMemberSS{Value: []string{ev.Name}}
			adds = append(adds, "#conv :names")
			if len(k.values) == 0 {
				cond = "attribute_exists(#pk) AND NOT contains(#conv, :name)"
				values[":name"] = avS(ev.Name)
			}
		}
		i := 0
		for _, key := range sortedKeys(k.values) {
			v := k.values[key]
			for _, side := range sidesOf(key, v) {
				if side.n == 0 {
					continue
				}
				name, value := fmt.Sprintf("#v%d", i), fmt.Sprintf(":v%d", i)
				names[name], values[value] = side.attr, avDecimal(side.n)
				adds = append(adds, name+" "+value)
				i++
			}
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                           aws.String(s.table),
			Key:                                 k.key(),
			UpdateExpression:                    aws.String("ADD " + strings.Join(adds, ", ")),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
		used = append(used, k)
	}
	return items, used, updateAt
}

// refreshFromCancellation copies into used the current state of each
// item whose condition failed (DynamoDB returns it with the cancellation),
// and reports whether any did: a state change the next attempt will
// account for. updateAt[j] is the index of used[j]'s update.
func refreshFromCancellation(err error, used []mark, updateAt []int) bool {
	refreshed := false
	for j, m := range used {
		if r, ok := cancellation(err, updateAt[j]); ok && deref(r.Code) == conditionFailed && r.Item != nil {
			m.refresh(r.Item)
			refreshed = true
		}
	}
	return refreshed
}

func (s *Store) encodeEvent(ev *experiment.Event) item {
	it := item{
		AttrPK:            avS(unitPK(ev.Unit)),
		AttrSK:            avS(eventSK(ev.ID)),
		"id":              avS(ev.ID),
		unitAttr(ev.Unit): avS(ev.Unit.ID),
		"name":            avS(ev.Name),
		"timestamp":       avT(ev.Timestamp),
		"received_at":     avT(ev.ReceivedAt),
		AttrExpiresAt:     s.expiresAt(ev.ReceivedAt),
	}
	if len(ev.Properties) > 0 {
		it["properties"] = avS(string(ev.Properties))
	}
	if len(ev.Evaluated) > 0 {
		it["evaluated"] = &types.AttributeValueMemberSS{Value: ev.Evaluated}
	}
	if len(ev.Exposed) > 0 {
		it["exposed"] = &types.AttributeValueMemberSS{Value: ev.Exposed}
	}
	return it
}

func decodeEvent(it item) *experiment.Event {
	ev := &experiment.Event{
		ID: getS(it, "id"), Unit: decodeUnit(it), Name: getS(it, "name"),
		Timestamp: getT(it, "timestamp"), ReceivedAt: getT(it, "received_at"),
	}
	if p := getS(it, "properties"); p != "" {
		ev.Properties = json.RawMessage(p)
	}
	ev.Evaluated = getSS(it, "evaluated")
	ev.Exposed = getSS(it, "exposed")
	ev.Applied = getSS(it, attrApplied)
	return ev
}
