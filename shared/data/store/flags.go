package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/flag"
)

// Flag definitions: pk FLAG#<key>, sk DEF, listed on gsi1 under FLAGS
// while not archived (newest first); their audit trail beside them, sk
// HIST#<version> as for experiments. Values and rules are stored as JSON
// text: DynamoDB maps would reorder keys and cannot hold every JSON number
// exactly.

const gsiFlags = "FLAGS"

// Statuses of a flag item: a flag is live until archived.
const (
	flagLive     = "live"
	flagArchived = "archived"
)

func flagPK(key string) string { return "FLAG#" + key }

// FlagConflictError: the flag changed since the version the caller read;
// Current is the flag as it is now (nil if it could not be read). It is
// ErrVersionConflict.
type FlagConflictError struct{ Current *flag.Flag }

func (e *FlagConflictError) Error() string {
	if e.Current == nil {
		return ErrVersionConflict.Error()
	}
	return fmt.Sprintf("%v: current version is %d", ErrVersionConflict, e.Current.Version)
}

func (e *FlagConflictError) Is(target error) bool { return target == ErrVersionConflict }

// CreateFlag stores a new flag and its first audit entry. ErrExists if the
// key was ever used, archived flags included.
func (s *Store) CreateFlag(ctx context.Context, f *flag.Flag, change Change) error {
	it, err := encodeFlag(f)
	if err != nil {
		return fmt.Errorf("create flag %q: %w", f.Key, err)
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     it,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}},
		s.historyPutAt(flagPK(f.Key), change),
	}})
	if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
		return fmt.Errorf("create flag %q: %w", f.Key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create flag %q: %w", f.Key, err)
	}
	return nil
}

// GetFlag reads a flag (strongly consistent), archived or not; ErrNotFound
// if the key was never used.
func (s *Store) GetFlag(ctx context.Context, key string) (*flag.Flag, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(flagPK(key), skDefinition),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get flag %q: %w", key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get flag %q: %w", key, ErrNotFound)
	}
	return decodeFlag(out.Item)
}

// SaveFlag replaces a flag that is still at version prev with f (whose
// Version must be prev+1) and appends change to its audit trail, in one
// transaction: a concurrent edit gets *FlagConflictError and writes
// nothing.
func (s *Store) SaveFlag(ctx context.Context, f *flag.Flag, prev int64, change Change) error {
	if f.Version != prev+1 || change.Version != f.Version {
		return fmt.Errorf("save flag %q: version must advance by one from %d", f.Key, prev)
	}
	it, err := encodeFlag(f)
	if err != nil {
		return fmt.Errorf("save flag %q: %w", f.Key, err)
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(s.table),
			Item:                                it,
			ConditionExpression:                 aws.String("#version = :prev"),
			ExpressionAttributeNames:            map[string]string{"#version": "version"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":prev": avN(prev)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		s.historyPutAt(flagPK(f.Key), change),
	}})
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
		var cur *flag.Flag
		if r.Item != nil {
			cur, _ = decodeFlag(r.Item)
		}
		return fmt.Errorf("save flag %q: %w", f.Key, &FlagConflictError{Current: cur})
	}
	if err != nil {
		return fmt.Errorf("save flag %q: %w", f.Key, err)
	}
	return nil
}

// ListFlags lists the flags that are not archived, newest first.
func (s *Store) ListFlags(ctx context.Context, limit int, cursor string) (Page[*flag.Flag], error) {
	items, next, err := s.queryPage(ctx, s.flagsQuery(), pageOf{
		keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: gsiFlags,
		itemPre: []string{flagPK("")}, itemSK: skDefinition,
	}, limit, cursor)
	if err != nil {
		return Page[*flag.Flag]{}, fmt.Errorf("list flags: %w", err)
	}
	page := Page[*flag.Flag]{Next: next}
	for _, it := range items {
		f, err := decodeFlag(it)
		if err != nil {
			return Page[*flag.Flag]{}, err
		}
		page.Items = append(page.Items, f)
	}
	return page, nil
}

// LiveFlags returns every flag that is not archived with one Query of
// gsi1 (more pages only past 1 MB of definitions). Like LiveExperiments it
// reads an eventually consistent index: a flag written a moment ago may
// show its previous version.
func (s *Store) LiveFlags(ctx context.Context) ([]*flag.Flag, error) {
	in := s.flagsQuery()
	var out []*flag.Flag
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("live flags: %w", err)
		}
		for _, it := range page.Items {
			f, err := decodeFlag(it)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// FlagHistory lists a flag's audit trail, newest first.
func (s *Store) FlagHistory(ctx context.Context, key string, limit int, cursor string) (Page[Change], error) {
	page, err := s.historyOf(ctx, flagPK(key), limit, cursor)
	if err != nil {
		return Page[Change]{}, fmt.Errorf("history of flag %q: %w", key, err)
	}
	return page, nil
}

func (s *Store) flagsQuery() *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiFlags)},
		ScanIndexForward:          aws.Bool(false),
	}
}

func encodeFlag(f *flag.Flag) (item, error) {
	rules, err := flag.MarshalRules(f.Rules)
	if err != nil {
		return nil, err
	}
	status := flagLive
	if f.Archived {
		status = flagArchived
	}
	created := formatTime(f.CreatedAt)
	it := item{
		AttrPK:          avS(flagPK(f.Key)),
		AttrSK:          avS(skDefinition),
		"key":           avS(f.Key),
		"description":   avS(f.Description),
		"type":          avS(string(f.Type)),
		"default_value": avS(string(f.DefaultValue)),
		"enabled":       &types.AttributeValueMemberBOOL{Value: f.Enabled},
		"rules":         avS(string(rules)),
		"status":        avS(status),
		"version":       avN(f.Version),
		"created_at":    avS(created),
		"created_by":    avS(f.CreatedBy),
		"updated_at":    avT(f.UpdatedAt),
		"updated_by":    avS(f.UpdatedBy),
	}
	if !f.Archived {
		it[AttrGSI1PK] = avS(gsiFlags)
		it[AttrGSI1SK] = avS(created + "#" + f.Key)
	}
	return it, nil
}

func decodeFlag(it item) (*flag.Flag, error) {
	f := &flag.Flag{
		Key: getS(it, "key"), Description: getS(it, "description"), Type: flag.Type(getS(it, "type")),
		DefaultValue: json.RawMessage(getS(it, "default_value")),
		Archived:     getS(it, "status") == flagArchived, Version: getN(it, "version"),
		CreatedAt: getT(it, "created_at"), CreatedBy: getS(it, "created_by"),
		UpdatedAt: getT(it, "updated_at"), UpdatedBy: getS(it, "updated_by"),
	}
	if b, ok := it["enabled"].(*types.AttributeValueMemberBOOL); ok {
		f.Enabled = b.Value
	}
	rules, err := flag.UnmarshalRules([]byte(getS(it, "rules")))
	if err != nil {
		return nil, fmt.Errorf("decode flag %q: %w", f.Key, err)
	}
	f.Rules = rules
	return f, nil
}
