package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// GetAssignment reads a user's assignment; ErrNotFound if there is none.
// consistent=false is enough on the assignment path, because creating an
// assignment is conditional and returns the existing one anyway.
func (s *Store) GetAssignment(ctx context.Context, key, userID string, consistent bool) (*experiment.Assignment, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(userPK(userID), assignmentSK(key)),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return nil, fmt.Errorf("get assignment %q/%q: %w", key, userID, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get assignment %q/%q: %w", key, userID, ErrNotFound)
	}
	return decodeAssignment(out.Item), nil
}

// CreateAssignment stores a user's first assignment, in one transaction with
// a check that the experiment is active and the increment of its assigned
// counter. It returns the stored assignment and whether this call created
// it: when another call won the race, the winner's assignment comes back
// from the failed condition itself, with no second read.
//
// Errors: ErrUnknownVariant when the variant is no longer in the
// definition (the caller bucketed on a stale definition); *InactiveError when the experiment is not active (a pause that was
// acknowledged is seen here, whatever a cache said), ErrNotFound when the
// experiment does not exist.
func (s *Store) CreateAssignment(ctx context.Context, key, userID, variant string) (*experiment.Assignment, bool, error) {
	a := &experiment.Assignment{Experiment: key, UserID: userID, Variant: variant, AssignedAt: s.now()}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.table),
			Item: item{
				AttrPK:        avS(userPK(userID)),
				AttrSK:        avS(assignmentSK(key)),
				AttrGSI1PK:    avS(assignmentsOfExperiment(key)),
				AttrGSI1SK:    avS(userID),
				"experiment":  avS(key),
				"user_id":     avS(userID),
				"variant":     avS(variant),
				"assigned_at": avT(a.AssignedAt),
			},
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{ConditionCheck: &types.ConditionCheck{
			TableName:                           aws.String(s.table),
			Key:                                 keyOf(experimentPK(key), skDefinition),
			ConditionExpression:                 aws.String("#status = :active AND contains(#vk, :variant)"),
			ExpressionAttributeNames:            map[string]string{"#status": "status", "#vk": "variant_keys"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":active": avS(string(experiment.Active)), ":variant": avS(variant)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		s.counterAdd(key, userID, map[string]int64{assignedAttr(variant): 1}),
	}}
	err := s.transact(ctx, in)
	if err == nil {
		return a, true, nil
	}
	// An existing assignment wins over everything else: it is served whatever
	// the experiment's status now is.
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed && r.Item != nil {
		return decodeAssignment(r.Item), false, nil
	}
	if r, ok := cancellation(err, 1); ok && deref(r.Code) == conditionFailed {
		if r.Item == nil {
			return nil, false, fmt.Errorf("create assignment %q/%q: experiment: %w", key, userID, ErrNotFound)
		}
		status := experiment.Status(getS(r.Item, "status"))
		if status == experiment.Active {
			return nil, false, fmt.Errorf("create assignment %q/%q: %w", key, userID, ErrUnknownVariant)
		}
		return nil, false, &InactiveError{Status: status}
	}
	return nil, false, fmt.Errorf("create assignment %q/%q: %w", key, userID, err)
}

// counterAdd adds deltas to counters of the user's aggregate shard.
func (s *Store) counterAdd(key, userID string, deltas map[string]int64) types.TransactWriteItem {
	// Every change also bumps the shard's version, which a recount's write
	// checks so it can never overwrite a change it did not see.
	names := map[string]string{"#ver": shardVersion}
	values := map[string]types.AttributeValue{":ver": avN(1)}
	expr := "ADD #ver :ver, "
	i := 0
	for attr, d := range deltas {
		if i > 0 {
			expr += ", "
		}
		n, v := fmt.Sprintf("#c%d", i), fmt.Sprintf(":c%d", i)
		names[n], values[v] = attr, avN(d)
		expr += n + " " + v
		i++
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(aggregatePK(key, shardOf(userID)), skAggregate),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

func decodeAssignment(it item) *experiment.Assignment {
	return &experiment.Assignment{
		Experiment:     getS(it, "experiment"),
		UserID:         getS(it, "user_id"),
		Variant:        getS(it, "variant"),
		AssignedAt:     getT(it, "assigned_at"),
		FirstExposedAt: getT(it, "first_exposed_at"),
		Conversions:    getSS(it, "conversions"),
	}
}
