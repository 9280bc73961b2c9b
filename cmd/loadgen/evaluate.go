package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/flag"
)

// evalExperiments and evalFlags are how many of each one evaluation asks for.
const (
	evalExperiments = 20
	evalFlags       = 20
)

// evaluation measures one-call evaluation: 20 experiments and 20 flags
// (every other flag bound to an experiment, the rest forced on a
// condition). Each user is enrolled by a first evaluation, then the repeat
// is measured beside a raw Query of the same partition.
func (b *bench) evaluation(ctx context.Context) error {
	now := time.Now().UTC()
	for i := range evalExperiments {
		key := fmt.Sprintf("eval-%02d", i)
		if err := b.st.CreateExperiment(ctx, benchExperiment(key)); err != nil {
			return err
		}
	}
	for i := range evalFlags {
		rules := `[{"condition":{"country":"US","plan":{"$in":["pro","team"]},"age":{"$gte":18}},"value":true}]`
		if i%2 == 0 {
			rules = fmt.Sprintf(`[{"experiment":"eval-%02d","values":{"control":false,"treatment":true}}]`, i)
		}
		p := experiment.Problems{}
		f := &flag.Flag{Key: fmt.Sprintf("flag-%02d", i), Type: flag.Boolean, DefaultValue: json.RawMessage(`false`), Enabled: true,
			Rules: flag.ParseRules(p, "rules", json.RawMessage(rules)), Version: 1, CreatedAt: now, UpdatedAt: now}
		if len(p) > 0 {
			return fmt.Errorf("bench flag: %v", p)
		}
		if err := b.st.CreateFlag(ctx, f, store.Change{Version: 1, Action: "create", By: "loadgen", At: now}); err != nil {
			return err
		}
	}
	// Let every function's snapshot see the new definitions, as a deployed
	// one would within its maximum age.
	time.Sleep(snapshot.DefaultMaxAge + 500*time.Millisecond)
	body := `{"attributes":{"country":"US","plan":"pro","age":30},"experiments":` + jsonList("eval-%02d", evalExperiments) + `,"flags":` + jsonList("flag-%02d", evalFlags) + `}`
	b.measure("first evaluation, 20 experiments + 20 flags (gateway)", b.n, func(i int) error {
		return b.call("POST", "/v1/client/evaluate", body, b.user(i), 200)
	})
	// The first evaluations enrolled 20 units each: let the stream poller
	// count them before the repeat is measured beside the raw Query, so
	// neither row shares DynamoDB Local with the backlog (on AWS the
	// aggregator does not share the table's capacity with requests).
	if err := b.waitCounted(ctx, "eval-19", int64(b.n)); err != nil {
		return err
	}
	b.measure("repeat evaluation, 20 experiments + 20 flags (gateway)", b.n, func(i int) error {
		return b.call("POST", "/v1/client/evaluate", body, b.user(i), 200)
	})
	b.measure("raw Query of the user's partition (same client)", b.n, func(i int) error {
		_, err := b.db.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(table),
			KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :asg)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": avS(fmt.Sprintf("USER#user-%06d", i)), ":asg": avS("ASG#"),
			},
			ConsistentRead: aws.Bool(true),
		})
		return err
	})
	return nil
}

// waitCounted waits until experiment key's counters hold want assigned
// units (the stream is drained up to its last assignment).
func (b *bench) waitCounted(ctx context.Context, key string, want int64) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		g, err := b.counters.ReadAggregates(ctx, key)
		if err != nil {
			return err
		}
		var total int64
		for _, n := range g.Assigned {
			total += n
		}
		if total >= want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the aggregator did not count %d assignments of %s in 10 minutes", want, key)
}
