package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/holdout"
)

// Holdout memberships: pk USER#<unit>, sk HOLD#<holdout key>, one per unit
// and holdout, written once (held out, or exposed) and afterwards only
// marked with conversions. Like assignments they are the unit's own items;
// the aggregator turns their changes into the holdout's counters.

const membershipPrefix = "HOLD#"

func membershipSK(key string) string { return membershipPrefix + key }

// UnitMemberships returns every holdout membership of a unit, with one
// Query of its partition (a unit has at most one per holdout).
func (s *Store) UnitMemberships(ctx context.Context, unitID string, consistent bool) ([]*holdout.Membership, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :hold)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(userPK(unitID)), ":hold": avS(membershipPrefix)},
		ConsistentRead:            aws.Bool(consistent),
	}
	var out []*holdout.Membership
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("holdout memberships of %q: %w", unitID, err)
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

// RecordHeldOut records that holdouts hold unitID out, reached through
// experiment exp: one read of the unit's memberships, then a conditional
// put of each one missing, so a unit's repeat calls write nothing and
// concurrent first calls write each item once. An existing membership is
// never changed, whichever side it records.
func (s *Store) RecordHeldOut(ctx context.Context, unitID, exp string, holdouts []string) error {
	if len(holdouts) == 0 {
		return nil
	}
	// Eventually consistent: a membership missed here only costs a put
	// whose condition fails.
	have, err := s.UnitMemberships(ctx, unitID, false)
	if err != nil {
		return err
	}
	at := s.now()
	for _, key := range holdouts {
		if hasMembership(have, key) {
			continue
		}
		m := &holdout.Membership{Holdout: key, UnitID: unitID, HeldOut: true, Since: at, Experiment: exp}
		if _, err := s.putIfAbsent(ctx, &types.Put{
			TableName:                aws.String(s.table),
			Item:                     encodeMembership(m),
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}); err != nil {
			return fmt.Errorf("hold %q out of %q: %w", unitID, key, err)
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

// exposedMembership is the transaction item that makes unitID an exposed
// member of holdout key, unless it is a member already: every attribute is
// set only if absent, so it needs no condition (which would cancel the
// whole transaction) and changes nothing on an existing membership, whose
// side and time stay the first ones.
func (s *Store) exposedMembership(unitID, key, exp string, at time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table),
		Key:       keyOf(userPK(unitID), membershipSK(key)),
		UpdateExpression: aws.String("SET #h = if_not_exists(#h, :h), #u = if_not_exists(#u, :u), #held = if_not_exists(#held, :false), " +
			"#since = if_not_exists(#since, :at), #x = if_not_exists(#x, :x)"),
		ExpressionAttributeNames: map[string]string{"#h": "holdout", "#u": "user_id", "#held": "held_out", "#since": "since", "#x": "experiment"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h": avS(key), ":u": avS(unitID), ":false": &types.AttributeValueMemberBOOL{Value: false}, ":at": avT(at), ":x": avS(exp),
		},
	}}
}

func encodeMembership(m *holdout.Membership) item {
	return item{
		AttrPK:       avS(userPK(m.UnitID)),
		AttrSK:       avS(membershipSK(m.Holdout)),
		"holdout":    avS(m.Holdout),
		"user_id":    avS(m.UnitID),
		"held_out":   &types.AttributeValueMemberBOOL{Value: m.HeldOut},
		"since":      avT(m.Since),
		"experiment": avS(m.Experiment),
	}
}

func decodeMembership(it item) *holdout.Membership {
	held, _ := it["held_out"].(*types.AttributeValueMemberBOOL)
	return &holdout.Membership{
		Holdout: getS(it, "holdout"), UnitID: getS(it, "user_id"), HeldOut: held != nil && held.Value,
		Since: getT(it, "since"), Experiment: getS(it, "experiment"), Conversions: getSS(it, "conversions"),
	}
}

// DecodeMembership reads a holdout membership from a stream image of an
// item, or returns false when the item is not one.
func DecodeMembership(img map[string]types.AttributeValue) (*holdout.Membership, bool) {
	if img == nil || !strings.HasPrefix(getS(img, AttrSK), membershipPrefix) || !strings.HasPrefix(getS(img, AttrPK), "USER#") {
		return nil, false
	}
	return decodeMembership(img), true
}
