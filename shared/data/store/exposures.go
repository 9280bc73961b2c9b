package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// stateAttempts bounds re-reads when an assignment's exposure or conversion
// state changes between our read and our write. Each state only moves
// forward (unexposed -> exposed, conversions only grow), so a few attempts
// always settle.
const stateAttempts = 5

var errStateChanged = errors.New("assignment state changed concurrently too often")

// RecordExposure appends an exposure for an existing assignment. The first
// exposure of a user also marks the assignment exposed, in one transaction
// of the unit's own two items (the aggregator then counts the unit exposed,
// and converted on what it already converted on). Later exposures are a
// single conditional put: the item is new or nothing is written.
//
// id is the client's idempotency key ("" makes one): an exposure whose id the
// unit already used in this experiment is not stored again, and the stored
// one comes back with created false.
func (s *Store) RecordExposure(ctx context.Context, a *experiment.Assignment, shown, id string) (x *experiment.Exposure, created bool, err error) {
	return s.RecordExposureFor(ctx, a, shown, id, FirstExposure{})
}

// FirstExposure is what a unit's first exposure in an experiment records
// besides the exposure.
type FirstExposure struct {
	// Holdouts are the keys of live holdouts covering the experiment that
	// do not hold the unit out: it becomes an exposed member of each.
	Holdouts []string
	// LookbackDays is the experiment's CUPED window (0: the default).
	LookbackDays int
	// Metrics are the metrics the experiment names: the unit takes the
	// covariate of each (only those, so an assignment item and the
	// counters grow with what the experiment reads, not with every live
	// metric; a metric named later gets it from a recount).
	Metrics []string
}

// RecordExposureFor is RecordExposure that, on the unit's first exposure in
// the experiment, also makes the unit an exposed member of first.Holdouts,
// in the same transaction (a membership exists exactly when the first
// exposure does; a unit already a member of one stays as it was), and sets
// the unit's CUPED covariate on its assignment: per metric of
// first.Metrics, its daily totals over the lookback window (preValues,
// read just before; no read when the experiment names no metric). An event
// stored while the exposure is being recorded may land in the covariate or
// not; either way it is what the unit did before it saw any variant.
func (s *Store) RecordExposureFor(ctx context.Context, a *experiment.Assignment, shown, id string, first FirstExposure) (x *experiment.Exposure, created bool, err error) {
	lookback := first.LookbackDays
	if lookback == 0 {
		lookback = experiment.DefaultLookbackDays
	}
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, false, fmt.Errorf("record exposure: new id: %w", err)
		}
		id = u.String()
	}
	x = &experiment.Exposure{ID: id, Experiment: a.Experiment, Unit: a.Unit, Variant: shown, AssignedVariant: a.Variant, ExposedAt: s.now()}
	put := &types.Put{
		TableName: aws.String(s.table),
		Item: item{
			AttrPK:             avS(unitPK(a.Unit)),
			AttrSK:             avS(exposurePrefix(a.Experiment) + x.ID),
			"id":               avS(x.ID),
			"experiment":       avS(x.Experiment),
			unitAttr(a.Unit):   avS(a.Unit.ID),
			"variant":          avS(x.Variant),
			"assigned_variant": avS(x.AssignedVariant),
			"exposed_at":       avT(x.ExposedAt),
			AttrExpiresAt:      s.expiresAt(x.ExposedAt),
		},
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for attempt := 0; attempt < stateAttempts; attempt++ {
		if a.Exposed() {
			old, err := s.putIfAbsent(ctx, put)
			if err != nil {
				return nil, false, fmt.Errorf("record exposure %q/%s: %w", a.Experiment, a.Unit, err)
			}
			if old != nil {
				return decodeExposure(old), false, nil
			}
			return x, true, nil
		}
		var pre map[string]float64
		if len(first.Metrics) > 0 {
			if pre, err = s.preValues(ctx, a.Unit, x.ExposedAt, lookback, first.Metrics); err != nil {
				return nil, false, fmt.Errorf("record first exposure %q/%s: %w", a.Experiment, a.Unit, err)
			}
		}
		cond, names, values := unchangedAssignment(a)
		cond += " AND attribute_not_exists(#fx)"
		names["#fx"] = "first_exposed_at"
		values[":fx"] = avT(x.ExposedAt)
		set := []string{"#fx = :fx"}
		for i, key := range sortedKeys(pre) {
			name, value := fmt.Sprintf("#p%d", i), fmt.Sprintf(":p%d", i)
			names[name], values[value] = preAttr(key), avDecimal(pre[key])
			set = append(set, name+" = "+value)
		}
		items := []types.TransactWriteItem{
			{Put: put},
			{Update: &types.Update{
				TableName:                           aws.String(s.table),
				Key:                                 keyOf(unitPK(a.Unit), assignmentSK(a.Experiment)),
				UpdateExpression:                    aws.String("SET " + strings.Join(set, ", ")),
				ConditionExpression:                 aws.String(cond),
				ExpressionAttributeNames:            names,
				ExpressionAttributeValues:           values,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
		}
		for _, key := range first.Holdouts {
			items = append(items, s.exposedMembership(a.Unit, key, a.Experiment, x.ExposedAt))
		}
		err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return x, true, nil
		}
		if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed && r.Item != nil {
			return decodeExposure(r.Item), false, nil // a retry of a stored exposure
		}
		r, ok := cancellation(err, 1)
		if !ok || deref(r.Code) != conditionFailed || r.Item == nil {
			return nil, false, fmt.Errorf("record first exposure %q/%s: %w", a.Experiment, a.Unit, err)
		}
		// Exposed or converted meanwhile: decide again on the current state.
		a = decodeAssignment(r.Item)
	}
	return nil, false, fmt.Errorf("record exposure %q/%s: %w", a.Experiment, a.Unit, errStateChanged)
}

func decodeExposure(it item) *experiment.Exposure {
	return &experiment.Exposure{
		ID: getS(it, "id"), Experiment: getS(it, "experiment"), Unit: decodeUnit(it),
		Variant: getS(it, "variant"), AssignedVariant: getS(it, "assigned_variant"), ExposedAt: getT(it, "exposed_at"),
	}
}

// unchangedAssignment is a condition that holds while the assignment item
// exists and its conversion set is the one in a (the set only grows, so its
// size identifies it).
func unchangedAssignment(a *experiment.Assignment) (string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{"#pk": AttrPK, "#conv": "conversions"}
	values := map[string]types.AttributeValue{}
	cond := "attribute_exists(#pk) AND "
	if len(a.Conversions) == 0 {
		cond += "attribute_not_exists(#conv)"
	} else {
		cond += "size(#conv) = :nconv"
		values[":nconv"] = avN(int64(len(a.Conversions)))
	}
	return cond, names, values
}
