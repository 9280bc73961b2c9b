package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// GetAssignment reads a unit's assignment; ErrNotFound if there is none.
// consistent=false is enough on the assignment path, because creating an
// assignment is conditional and returns the existing one anyway.
func (s *Store) GetAssignment(ctx context.Context, key string, unit experiment.UnitRef, consistent bool) (*experiment.Assignment, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(unitPK(unit), assignmentSK(key)),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return nil, fmt.Errorf("get assignment %q/%s: %w", key, unit, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get assignment %q/%s: %w", key, unit, ErrNotFound)
	}
	return decodeAssignment(out.Item), nil
}

// CreateAssignment stores a unit's first assignment: a conditional put of
// the unit's own item, so concurrent first calls write one item and the
// losers get the winner's assignment back from the failed condition itself,
// with no second read. Nothing shared with other units is read or written:
// the counters follow from the change stream (shared/data/aggregator), and
// whether the experiment enrols is the caller's decision on its definition.
func (s *Store) CreateAssignment(ctx context.Context, key string, unit experiment.UnitRef, variant string) (*experiment.Assignment, bool, error) {
	a := &experiment.Assignment{Experiment: key, Unit: unit, Variant: variant, AssignedAt: s.now()}
	old, err := s.putIfAbsent(ctx, &types.Put{
		TableName: aws.String(s.table),
		Item: item{
			AttrPK:         avS(unitPK(unit)),
			AttrSK:         avS(assignmentSK(key)),
			AttrGSI1PK:     avS(assignmentsOfExperiment(key)),
			AttrGSI1SK:     avS(unit.ID),
			"experiment":   avS(key),
			unitAttr(unit): avS(unit.ID),
			"variant":      avS(variant),
			"assigned_at":  avT(a.AssignedAt),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("create assignment %q/%s: %w", key, unit, err)
	case old != nil && len(old) == 0:
		return nil, false, fmt.Errorf("create assignment %q/%s: the existing item did not come back", key, unit)
	case old != nil:
		return decodeAssignment(old), false, nil
	}
	return a, true, nil
}

func decodeAssignment(it item) *experiment.Assignment {
	return &experiment.Assignment{
		Experiment:     getS(it, "experiment"),
		Unit:           decodeUnit(it),
		Variant:        getS(it, "variant"),
		AssignedAt:     getT(it, "assigned_at"),
		FirstExposedAt: getT(it, "first_exposed_at"),
		Conversions:    getSS(it, "conversions"),
		Values:         decodeValues(it),
	}
}
