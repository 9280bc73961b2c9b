package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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
		addShard(g, it)
	}
	return g, nil
}

// readShards reads the existing counter shards of an experiment, by shard
// partition key.
func (s *Store) readShards(ctx context.Context, key string) (map[string]item, error) {
	keys := make([]map[string]types.AttributeValue, AggregateShards)
	for i := range keys {
		keys[i] = keyOf(aggregatePK(key, i), skAggregate)
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

func addShard(g experiment.Aggregates, it item) {
	for name, av := range it {
		n, ok := av.(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			continue
		}
		kind, rest, _ := strings.Cut(name, ":")
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
		}
	}
}
