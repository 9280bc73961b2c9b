package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The raw rows: what a route writes, sent straight to DynamoDB Local with
// the same client, so a ratio shows what the service adds on top of the
// writes it cannot avoid.

func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// rawPK is the partition of raw unit i.
func rawPK(i int) string { return fmt.Sprintf("USER#raw-%06d", i) }

// rawFirstExposure writes an exposure item beside the assignment at pk and
// marks the assignment first-exposed, in one transaction, with the
// conditions the store puts on them.
func (b *bench) rawFirstExposure(ctx context.Context, pk string) error {
	_, err := b.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"pk": avS(pk), "sk": avS(fmt.Sprintf("EXPO#rawbench#%d", time.Now().UnixNano())),
				"variant": avS("treatment"), "assigned_variant": avS("treatment"), "exposed_at": avS(now()),
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Update: &types.Update{
			TableName:                 aws.String(table),
			Key:                       map[string]types.AttributeValue{"pk": avS(pk), "sk": avS("ASG#rawbench")},
			UpdateExpression:          aws.String("SET first_exposed_at = :fx"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(first_exposed_at)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":fx": avS(now())},
		}},
	}})
	return err
}

// rawEventBatch writes n events of the unit at pk: the first one with the
// conversion mark on its assignment (a transaction), the rest as
// conditional puts.
func (b *bench) rawEventBatch(ctx context.Context, pk string, n int) error {
	event := func(j int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": avS(pk), "sk": avS(fmt.Sprintf("EVT#%d-%d", time.Now().UnixNano(), j)),
			"name": avS("purchase"), "timestamp": avS(now()), "received_at": avS(now()), "properties": avS(fmt.Sprintf(`{"item":%d}`, j)),
		}
	}
	_, err := b.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(table), Item: event(0), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{
			TableName:                 aws.String(table),
			Key:                       map[string]types.AttributeValue{"pk": avS(pk), "sk": avS("ASG#rawbench")},
			UpdateExpression:          aws.String("ADD conversions :names"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND NOT contains(conversions, :name)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":names": &types.AttributeValueMemberSS{Value: []string{"purchase"}}, ":name": avS("purchase")},
		}},
	}})
	for j := 1; j < n && err == nil; j++ {
		_, err = b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: event(j), ConditionExpression: aws.String("attribute_not_exists(pk)")})
	}
	return err
}

// rawMeteredBatch writes n events of the unit at pk that each feed a sum
// metric: per event, a transaction of the event (recording the experiment
// that took its value), the ADD of its amount to the unit's daily totals
// (the CUPED covariate's source) and to the unit's value on its
// assignment, as the events path writes them.
func (b *bench) rawMeteredBatch(ctx context.Context, pk string, n int) error {
	for j := range n {
		_, err := b.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(table), ConditionExpression: aws.String("attribute_not_exists(pk)"), Item: map[string]types.AttributeValue{
				"pk": avS(pk), "sk": avS(fmt.Sprintf("EVT#%d-%d", time.Now().UnixNano(), j)),
				"name": avS("checkout"), "timestamp": avS(now()), "received_at": avS(now()), "properties": avS(fmt.Sprintf(`{"amount":%d}`, 10+j)),
				"applied": &types.AttributeValueMemberSS{Value: []string{"rawbench"}},
			}}},
			{Update: &types.Update{
				TableName:                 aws.String(table),
				Key:                       map[string]types.AttributeValue{"pk": avS(pk), "sk": avS("ASG#rawbench")},
				UpdateExpression:          aws.String("ADD #v :v"),
				ConditionExpression:       aws.String("attribute_exists(pk)"),
				ExpressionAttributeNames:  map[string]string{"#v": "mx:bench-revenue"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(10 + j)}},
			}},
			{Update: &types.Update{
				TableName:                 aws.String(table),
				Key:                       map[string]types.AttributeValue{"pk": avS(pk), "sk": avS("DAY#" + time.Now().UTC().Format(time.DateOnly))},
				UpdateExpression:          aws.String("SET expires_at = :ttl ADD #v :v"),
				ExpressionAttributeNames:  map[string]string{"#v": "mx:bench-revenue"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(10 + j)}, ":ttl": &types.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(92 * 24 * time.Hour).Unix())}},
			}},
		}})
		if err != nil {
			return err
		}
	}
	return nil
}
