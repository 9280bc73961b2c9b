package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
func (s *Store) Recount(ctx context.Context, key string, write bool) (Aggregates, error) {
	assignments, err := s.experimentAssignments(ctx, key)
	if err != nil {
		return Aggregates{}, err
	}
	shards := make([]Aggregates, AggregateShards)
	for i := range shards {
		shards[i] = newAggregates()
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		work     = make(chan *Assignment)
	)
	for w := 0; w < recountWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				exposed, converted, err := s.recountUser(ctx, a)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				g := shards[shardOf(a.UserID)]
				g.Assigned[a.Variant]++
				if exposed {
					g.Exposed[a.Variant]++
					for name := range converted {
						g.addConverted(a.Variant, name, 1)
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
		return Aggregates{}, fmt.Errorf("recount %q: %w", key, firstErr)
	}
	total := newAggregates()
	for _, g := range shards {
		total.add(g)
	}
	if write {
		if err := s.replaceShards(ctx, key, shards); err != nil {
			return Aggregates{}, err
		}
	}
	return total, nil
}

func (g Aggregates) add(o Aggregates) {
	for v, n := range o.Assigned {
		g.Assigned[v] += n
	}
	for v, n := range o.Exposed {
		g.Exposed[v] += n
	}
	for v, m := range o.Converted {
		for e, n := range m {
			g.addConverted(v, e, n)
		}
	}
}

// experimentAssignments pages through gsi1 for every assignment of key.
func (s *Store) experimentAssignments(ctx context.Context, key string) ([]*Assignment, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(assignmentsOfExperiment(key))},
	}
	var out []*Assignment
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

// recountUser reads one user's exposure and event items for an assignment.
func (s *Store) recountUser(ctx context.Context, a *Assignment) (exposed bool, converted map[string]bool, err error) {
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
	if x.Count == 0 {
		return false, nil, nil
	}
	converted = map[string]bool{}
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
			if ev := decodeEvent(it); Counts(a, ev) {
				converted[ev.Name] = true
			}
		}
		if page.LastEvaluatedKey == nil {
			return true, converted, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// replaceShards swaps every counter shard for its recounted value at once.
func (s *Store) replaceShards(ctx context.Context, key string, shards []Aggregates) error {
	items := make([]types.TransactWriteItem, len(shards))
	for i, g := range shards {
		it := keyOf(aggregatePK(key, i), skAggregate)
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
		items[i] = types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: it}}
	}
	if err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return fmt.Errorf("replace counters of %q: %w", key, err)
	}
	return nil
}
