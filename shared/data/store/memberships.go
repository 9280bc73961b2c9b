package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
)

// Holdout memberships: pk USER#<id> or DEVICE#<id> (the unit's partition), sk HOLD#<holdout key>, one per unit
// and holdout, written once (held out, or exposed) and afterwards only
// marked with conversions. Like assignments they are the unit's own items;
// the aggregator turns their changes into the holdout's counters.

const membershipPrefix = "HOLD#"

func membershipSK(key string) string { return membershipPrefix + key }

// UnitMemberships returns every holdout membership of a unit, with one
// Query of its partition (a unit has at most one per holdout).
func (s *Store) UnitMemberships(ctx context.Context, unit experiment.UnitRef, consistent bool) ([]*holdout.Membership, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :hold)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(unitPK(unit)), ":hold": avS(membershipPrefix)},
		ConsistentRead:            aws.Bool(consistent),
	}
	var out []*holdout.Membership
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("holdout memberships of %s: %w", unit, err)
		}
		for _, it := range page.Items {
			out = append(out, decodeMembership(it))
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// RecordHeldOut records that holdouts hold unit out, reached through
// experiment exp: one read of the unit's memberships, then a conditional
// put of each one missing, so a unit's repeat calls write nothing and
// concurrent first calls write each item once. An existing membership is
// never changed, whichever side it records.
func (s *Store) RecordHeldOut(ctx context.Context, unit experiment.UnitRef, exp string, holdouts []string) error {
	if len(holdouts) == 0 {
		return nil
	}
	// Eventually consistent: a membership missed here only costs a put
	// whose condition fails.
	have, err := s.UnitMemberships(ctx, unit, false)
	if err != nil {
		return err
	}
	at := s.now()
	for _, key := range holdouts {
		if hasMembership(have, key) {
			continue
		}
		m := &holdout.Membership{Holdout: key, Unit: unit, HeldOut: true, Since: at, Experiment: exp}
		if _, err := s.putIfAbsent(ctx, &types.Put{
			TableName:                aws.String(s.table),
			Item:                     encodeMembership(m),
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}); err != nil {
			return fmt.Errorf("hold %s out of %q: %w", unit, key, err)
		}
	}
	return nil
}

func hasMembership(ms []*holdout.Membership, key string) bool {
	for _, m := range ms {
		if m.Holdout == key {
			return true
		}
	}
	return false
}

// exposedMembership is the transaction item that makes unit an exposed
// member of holdout key, unless it is a member already: every attribute is
// set only if absent, so it needs no condition (which would cancel the
// whole transaction) and changes nothing on an existing membership, whose
// side and time stay the first ones.
func (s *Store) exposedMembership(unit experiment.UnitRef, key, exp string, at time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table),
		Key:       keyOf(unitPK(unit), membershipSK(key)),
		UpdateExpression: aws.String("SET #h = if_not_exists(#h, :h), #u = if_not_exists(#u, :u), #held = if_not_exists(#held, :false), " +
			"#since = if_not_exists(#since, :at), #x = if_not_exists(#x, :x)"),
		ExpressionAttributeNames: map[string]string{"#h": "holdout", "#u": unitAttr(unit), "#held": "held_out", "#since": "since", "#x": "experiment"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h": avS(key), ":u": avS(unit.ID), ":false": &types.AttributeValueMemberBOOL{Value: false}, ":at": avT(at), ":x": avS(exp),
		},
	}}
}

func encodeMembership(m *holdout.Membership) item {
	return item{
		AttrPK:           avS(unitPK(m.Unit)),
		AttrSK:           avS(membershipSK(m.Holdout)),
		"holdout":        avS(m.Holdout),
		unitAttr(m.Unit): avS(m.Unit.ID),
		"held_out":       &types.AttributeValueMemberBOOL{Value: m.HeldOut},
		"since":          avT(m.Since),
		"experiment":     avS(m.Experiment),
	}
}

func decodeMembership(it item) *holdout.Membership {
	held, _ := it["held_out"].(*types.AttributeValueMemberBOOL)
	return &holdout.Membership{
		Holdout: getS(it, "holdout"), Unit: decodeUnit(it), HeldOut: held != nil && held.Value,
		Since: getT(it, "since"), Experiment: getS(it, "experiment"), Conversions: getSS(it, "conversions"),
	}
}

// DecodeMembership reads a holdout membership from a stream image of an
// item, or returns false when the item is not one.
func DecodeMembership(img map[string]types.AttributeValue) (*holdout.Membership, bool) {
	if img == nil || !strings.HasPrefix(getS(img, AttrSK), membershipPrefix) || !isUnitPK(getS(img, AttrPK)) {
		return nil, false
	}
	return decodeMembership(img), true
}
