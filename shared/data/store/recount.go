package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// recountWorkers bounds the per-user queries a recount runs at once.
const recountWorkers = 8

// Recount rebuilds an experiment's counters from the stored items
// themselves — assignments, exposure items and event items — ignoring the
// live counters and the marks on assignments. With write, it replaces the
// live counter shards with the result in one transaction.
//
// It reads every assignment of the experiment (through gsi1) and queries each
// user's exposures and events, so its cost grows with the experiment's users:
// an operator's repair tool, not a request path. Writes that land while it
// runs may be missed; run it on a paused or ended experiment to be exact.
func (s *Store) Recount(ctx context.Context, key string, events []string, write bool) (experiment.Aggregates, error) {
	for attempt := 1; ; attempt++ {
		g, err := s.recountOnce(ctx, key, events, write)
		if errors.Is(err, ErrRecountConflict) && attempt < recountAttempts {
			continue
		}
		return g, err
	}
}

// ErrRecountConflict: counters kept changing while a recount ran, so it
// wrote nothing. Pausing the experiment first makes a recount settle.
var ErrRecountConflict = errors.New("counters changed during the recount")

const recountAttempts = 3

func (s *Store) recountOnce(ctx context.Context, key string, events []string, write bool) (experiment.Aggregates, error) {
	// The shards' versions before reading any item: a write that lands
	// after this bumps a version and makes the swap below refuse.
	before, err := s.readShards(ctx, key)
	if err != nil {
		return experiment.Aggregates{}, err
	}
	assignments, err := s.experimentAssignments(ctx, key)
	if err != nil {
		return experiment.Aggregates{}, err
	}
	shards := make([]experiment.Aggregates, AggregateShards)
	for i := range shards {
		shards[i] = experiment.NewAggregates()
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		work     = make(chan *experiment.Assignment)
	)
	for w := 0; w < recountWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				exposed, converted, err := s.recountUser(ctx, a, events, write)
				if err == nil && write {
					err = s.markConversions(ctx, a, converted)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				g := shards[shardOf(a.UserID)]
				g.Assigned[a.Variant]++
				if exposed {
					g.Exposed[a.Variant]++
					for name := range converted {
						g.AddConverted(a.Variant, name, 1)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, a := range assignments {
		work <- a
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return experiment.Aggregates{}, fmt.Errorf("recount %q: %w", key, firstErr)
	}
	total := experiment.NewAggregates()
	for _, g := range shards {
		total.Add(g)
	}
	if write {
		if err := s.replaceShards(ctx, key, shards, before); err != nil {
			return experiment.Aggregates{}, err
		}
	}
	return total, nil
}

// experimentAssignments pages through gsi1 for every assignment of key.
func (s *Store) experimentAssignments(ctx context.Context, key string) ([]*experiment.Assignment, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(assignmentsOfExperiment(key))},
	}
	var out []*experiment.Assignment
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("assignments of experiment %q: %w", key, err)
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

// recountUser reads one user's exposure and event items for an assignment,
// and which of the declared events converted the user. An unexposed user's
// conversions count for nothing yet: they are read only to be marked
// (marking).
func (s *Store) recountUser(ctx context.Context, a *experiment.Assignment, events []string, marking bool) (exposed bool, converted map[string]bool, err error) {
	x, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :x)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(userPK(a.UserID)), ":x": avS(exposurePrefix(a.Experiment)),
		},
		Select:         types.SelectCount,
		Limit:          aws.Int32(1),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, nil, fmt.Errorf("exposures of %q: %w", a.UserID, err)
	}
	exposed = x.Count > 0
	converted = map[string]bool{}
	if !exposed && !marking {
		return false, converted, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :e)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(userPK(a.UserID)), ":e": avS(eventSK("")),
		},
		ConsistentRead: aws.Bool(true),
	}
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return false, nil, fmt.Errorf("events of %q: %w", a.UserID, err)
		}
		for _, it := range page.Items {
			if ev := decodeEvent(it); experiment.Converts(a, ev) && slices.Contains(events, ev.Name) {
				converted[ev.Name] = true
			}
		}
		if page.LastEvaluatedKey == nil {
			return exposed, converted, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// markConversions adds to an assignment the conversion marks a recount
// found and live counting never made (a name declared after its events
// arrived), so the unit's next event of that name is not counted again.
// A recount that then fails to swap its counters leaves these units counted
// short until the next recount, which is what its 409 asks for.
func (s *Store) markConversions(ctx context.Context, a *experiment.Assignment, converted map[string]bool) error {
	var missing []string
	for name := range converted {
		if !a.Converted(name) {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(userPK(a.UserID), assignmentSK(a.Experiment)),
		UpdateExpression:          aws.String("ADD #conv :names"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#conv": "conversions"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":names": &types.AttributeValueMemberSS{Value: missing}},
	})
	if err != nil {
		return fmt.Errorf("mark conversions of %q: %w", a.UserID, err)
	}
	return nil
}

// replaceShards swaps every counter shard for its recounted value at once,
// on condition that no shard changed since it was read (before).
func (s *Store) replaceShards(ctx context.Context, key string, shards []experiment.Aggregates, before map[string]item) error {
	items := make([]types.TransactWriteItem, len(shards))
	for i, g := range shards {
		pk := aggregatePK(key, i)
		it := keyOf(pk, skAggregate)
		for v, n := range g.Assigned {
			it[assignedAttr(v)] = avN(n)
		}
		for v, n := range g.Exposed {
			it[exposedAttr(v)] = avN(n)
		}
		for v, m := range g.Converted {
			for e, n := range m {
				it[convertedAttr(v, e)] = avN(n)
			}
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
