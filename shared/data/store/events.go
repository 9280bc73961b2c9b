package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
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
	// Memberships are the unit's holdout memberships; a membership is
	// marked by holdout.Converts, when HoldoutCounted(its holdout).
	Memberships    []*holdout.Membership
	HoldoutCounted func(holdout string) bool
}

// RecordEventFor is RecordEvent over the unit's assignments and holdout
// memberships alike: the marks go in the event's transaction, on items of
// this unit only, and the aggregator counts them.
func (s *Store) RecordEventFor(ctx context.Context, ev *experiment.Event, c Convertible) (stored bool, err error) {
	ev.Evaluated = ev.Evaluated[:0]
	for _, a := range c.Assignments {
		ev.Evaluated = append(ev.Evaluated, a.Experiment)
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
	for attempt := 0; attempt < stateAttempts; attempt++ {
		pending := c.pending(ev)
		items, used, updateAt := s.conversionItems(ev, pending, withPut)
		if withPut && len(items) == 0 {
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
		if withPut {
			items = append([]types.TransactWriteItem{{Put: put}}, items...)
		}
		if len(items) == 0 {
			return stored, nil
		}
		err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			stored = stored || withPut
			for _, m := range used {
				m.add(ev.Name)
			}
			if len(used) == len(pending) {
				return stored, nil
			}
			// More conversions than one transaction holds: the event is
			// stored; the rest follow in further transactions.
			withPut, attempt = false, -1
			continue
		}
		if withPut {
			if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed && r.Item != nil {
				// A retry: carry on with the event as it was stored.
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

// mark is one item an event can mark converted: an assignment or a
// holdout membership of the unit (one of the two is set).
type mark struct {
	a *experiment.Assignment
	m *holdout.Membership
}

// pending are the items ev converts that are not marked with its name yet.
func (c Convertible) pending(ev *experiment.Event) []mark {
	var out []mark
	for _, a := range c.Assignments {
		if experiment.Converts(a, ev) && c.Counted(a.Experiment) && !a.Converted(ev.Name) {
			out = append(out, mark{a: a})
		}
	}
	for _, m := range c.Memberships {
		if c.HoldoutCounted != nil && holdout.Converts(m, ev) && c.HoldoutCounted(m.Holdout) && !m.Converted(ev.Name) {
			out = append(out, mark{m: m})
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

// add records a committed mark in memory.
func (k mark) add(name string) {
	if k.a != nil {
		k.a.Conversions = append(k.a.Conversions, name)
	} else {
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

// conversionItems builds, for as many pending items as fit next to the
// event, the conditional update that marks the conversion (the aggregator
// counts it: for an assignment, once the unit is exposed).
// Item indexes in updateAt count the event's put when withPut.
func (s *Store) conversionItems(ev *experiment.Event, pending []mark, withPut bool) (items []types.TransactWriteItem, used []mark, updateAt []int) {
	room, offset := maxTransactItems, 0
	if withPut {
		room, offset = room-1, 1
	}
	for _, k := range pending {
		if len(items)+1 > room {
			break
		}
		updateAt = append(updateAt, offset+len(items))
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                           aws.String(s.table),
			Key:                                 k.key(),
			UpdateExpression:                    aws.String("ADD #conv :names"),
			ConditionExpression:                 aws.String("attribute_exists(#pk) AND NOT contains(#conv, :name)"),
			ExpressionAttributeNames:            map[string]string{"#pk": AttrPK, "#conv": "conversions"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":names": &types.AttributeValueMemberSS{Value: []string{ev.Name}}, ":name": avS(ev.Name)},
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
	return ev
}
