package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/holdout"
)

// Holdout definitions: pk HOLDOUT#<key>, sk DEF, listed on gsi1 under
// HOLDOUTS while live. The deployment's live holdouts are counted in
// DEPLOYMENT/HOLDOUT_COUNT, which creating and archiving move in the same
// transaction as the definition, so holdout.MaxLive holds exactly.

const (
	gsiHoldouts    = "HOLDOUTS"
	skHoldoutCount = "HOLDOUT_COUNT"
	attrLive       = "live"
)

func holdoutPK(key string) string { return "HOLDOUT#" + key }

// ErrHoldoutLimit: holdout.MaxLive holdouts are live already.
var ErrHoldoutLimit = errors.New("too many live holdouts")

// ErrPercentLowered: an update would lower a holdout's percent. The error
// is a *PercentLoweredError carrying the current percent.
var ErrPercentLowered = errors.New("percent lowered")

// PercentLoweredError carries the percent the holdout has now.
type PercentLoweredError struct{ Current float64 }

func (e *PercentLoweredError) Error() string {
	return fmt.Sprintf("%v: current percent is %g", ErrPercentLowered, e.Current)
}

func (e *PercentLoweredError) Is(target error) bool { return target == ErrPercentLowered }

// CreateHoldout stores a new live holdout. ErrExists if the key was ever
// used (archived holdouts included), ErrHoldoutLimit if holdout.MaxLive are
// live.
func (s *Store) CreateHoldout(ctx context.Context, h *holdout.Holdout) error {
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     encodeHoldout(h),
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}},
		{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(pkDeployment, skHoldoutCount),
			UpdateExpression:          aws.String("ADD #live :one"),
			ConditionExpression:       aws.String("attribute_not_exists(#live) OR #live < :max"),
			ExpressionAttributeNames:  map[string]string{"#live": attrLive},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN(1), ":max": avN(holdout.MaxLive)},
		}},
	}})
	if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
		return fmt.Errorf("create holdout %q: %w", h.Key, ErrExists)
	}
	if reason, ok := cancellationReason(err, 1); ok && reason == conditionFailed {
		return fmt.Errorf("create holdout %q: %w", h.Key, ErrHoldoutLimit)
	}
	if err != nil {
		return fmt.Errorf("create holdout %q: %w", h.Key, err)
	}
	return nil
}

// GetHoldout reads a holdout (strongly consistent), archived or not;
// ErrNotFound if the key was never used.
func (s *Store) GetHoldout(ctx context.Context, key string) (*holdout.Holdout, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(holdoutPK(key), skDefinition),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get holdout %q: %w", key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get holdout %q: %w", key, ErrNotFound)
	}
	return decodeHoldout(out.Item), nil
}

// ListHoldouts lists live holdouts newest first.
func (s *Store) ListHoldouts(ctx context.Context, limit int, cursor string) (Page[*holdout.Holdout], error) {
	items, next, err := s.queryPage(ctx, s.holdoutsQuery(), pageOf{
		keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: gsiHoldouts,
		itemPre: []string{holdoutPK("")}, itemSK: skDefinition,
	}, limit, cursor)
	if err != nil {
		return Page[*holdout.Holdout]{}, fmt.Errorf("list holdouts: %w", err)
	}
	page := Page[*holdout.Holdout]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, decodeHoldout(it))
	}
	return page, nil
}

// LiveHoldouts returns every live holdout with one Query of gsi1 (at most
// holdout.MaxLive, one page). Like LiveExperiments it reads an eventually
// consistent index: a holdout made or changed a moment ago may lag.
func (s *Store) LiveHoldouts(ctx context.Context) ([]*holdout.Holdout, error) {
	in := s.holdoutsQuery()
	var out []*holdout.Holdout
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("live holdouts: %w", err)
		}
		for _, it := range page.Items {
			out = append(out, decodeHoldout(it))
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func (s *Store) holdoutsQuery() *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiHoldouts)},
		ScanIndexForward:          aws.Bool(false),
	}
}

// HoldoutChange is an update of a live holdout: nil fields stay as they are.
type HoldoutChange struct {
	Name    *string
	Percent *float64
	By      string
	At      time.Time
}

// UpdateHoldout applies c to a live holdout and returns it as it is now.
// The percent condition is checked by DynamoDB, so concurrent updates can
// never lower it: a lower percent is a *PercentLoweredError. An unknown or
// archived holdout is ErrNotFound.
func (s *Store) UpdateHoldout(ctx context.Context, key string, c HoldoutChange) (*holdout.Holdout, error) {
	names := map[string]string{"#pk": AttrPK, "#st": "status", "#ver": "version", "#ua": "updated_at", "#ub": "updated_by"}
	values := map[string]types.AttributeValue{":live": avS(string(holdout.Live)), ":one": avN(1), ":at": avT(c.At), ":by": avS(c.By)}
	set := "SET #ua = :at, #ub = :by"
	cond := "attribute_exists(#pk) AND #st = :live"
	if c.Name != nil {
		names["#name"], values[":name"] = "name", avS(*c.Name)
		set += ", #name = :name"
	}
	if c.Percent != nil {
		names["#pct"], values[":pct"] = "percent", avF(*c.Percent)
		set += ", #pct = :pct"
		cond += " AND #pct <= :pct"
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(holdoutPK(key), skDefinition),
		UpdateExpression:                    aws.String(set + " ADD #ver :one"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		if ccf.Item == nil || getS(ccf.Item, "status") != string(holdout.Live) {
			return nil, fmt.Errorf("update holdout %q: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("update holdout %q: %w", key, &PercentLoweredError{Current: getF(ccf.Item, "percent")})
	}
	if err != nil {
		return nil, fmt.Errorf("update holdout %q: %w", key, err)
	}
	return decodeHoldout(out.Attributes), nil
}

// ArchiveHoldout stops a live holdout from applying: it leaves the listing
// and the live set (its gsi1 attributes go) and frees its place in the
// count. Its definition, memberships and counters stay. ErrNotFound if it
// is unknown or archived already.
func (s *Store) ArchiveHoldout(ctx context.Context, key, by string, at time.Time) error {
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:           aws.String(s.table),
			Key:                 keyOf(holdoutPK(key), skDefinition),
			UpdateExpression:    aws.String("SET #st = :archived, #ua = :at, #ub = :by ADD #ver :one REMOVE #g1pk, #g1sk"),
			ConditionExpression: aws.String("attribute_exists(#pk) AND #st = :live"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#st": "status", "#ua": "updated_at", "#ub": "updated_by",
				"#ver": "version", "#g1pk": AttrGSI1PK, "#g1sk": AttrGSI1SK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":archived": avS(string(holdout.Archived)), ":live": avS(string(holdout.Live)),
				":at": avT(at), ":by": avS(by), ":one": avN(1)},
		}},
		{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(pkDeployment, skHoldoutCount),
			UpdateExpression:          aws.String("ADD #live :minus"),
			ExpressionAttributeNames:  map[string]string{"#live": attrLive},
			ExpressionAttributeValues: map[string]types.AttributeValue{":minus": avN(-1)},
		}},
	}})
	if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
		return fmt.Errorf("archive holdout %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("archive holdout %q: %w", key, err)
	}
	return nil
}

func encodeHoldout(h *holdout.Holdout) item {
	created := formatTime(h.CreatedAt)
	it := item{
		AttrPK:       avS(holdoutPK(h.Key)),
		AttrSK:       avS(skDefinition),
		"key":        avS(h.Key),
		"name":       avS(h.Name),
		"percent":    avF(h.Percent),
		"status":     avS(string(h.Status)),
		"version":    avN(h.Version),
		"created_at": avS(created),
		"created_by": avS(h.CreatedBy),
		"updated_at": avT(h.UpdatedAt),
		"updated_by": avS(h.UpdatedBy),
	}
	// Lists keep the order the admin gave.
	if len(h.Layers) > 0 {
		it["layers"] = avList(h.Layers)
	}
	if len(h.Events) > 0 {
		it["events"] = avList(h.Events)
	}
	if h.Status != holdout.Archived {
		it[AttrGSI1PK] = avS(gsiHoldouts)
		it[AttrGSI1SK] = avS(created + "#" + h.Key)
	}
	return it
}

func decodeHoldout(it item) *holdout.Holdout {
	return &holdout.Holdout{
		Key: getS(it, "key"), Name: getS(it, "name"), Percent: getF(it, "percent"),
		Layers: getList(it, "layers"), Events: getList(it, "events"),
		Status: holdout.Status(getS(it, "status")), Version: getN(it, "version"),
		CreatedAt: getT(it, "created_at"), CreatedBy: getS(it, "created_by"),
		UpdatedAt: getT(it, "updated_at"), UpdatedBy: getS(it, "updated_by"),
	}
}

// avList is a list of strings.
func avList(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		l[i] = avS(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

// getList reads a list of strings.
func getList(it item, name string) []string {
	l, ok := it[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for _, av := range l.Value {
		if s, ok := av.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}
