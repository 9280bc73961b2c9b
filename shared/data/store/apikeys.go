package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// APIKey is a stored API key: never the key itself, only its hash.
type APIKey struct {
	ID         string
	Name       string
	Role       string
	Hash       string // hex SHA-256 of the whole key
	CreatedAt  time.Time
	CreatedBy  string
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: active
}

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

const (
	apiKeySK   = "KEY"
	gsiAPIKeys = "APIKEYS"
)

func apiKeyPK(id string) string { return "APIKEY#" + id }

// CreateAPIKey stores a new key; ErrExists if the id is taken.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	created := formatTime(k.CreatedAt)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: item{
			AttrPK: avS(apiKeyPK(k.ID)), AttrSK: avS(apiKeySK),
			AttrGSI1PK: avS(gsiAPIKeys), AttrGSI1SK: avS(created + "#" + k.ID),
			"id": avS(k.ID), "name": avS(k.Name), "role": avS(k.Role), "hash": avS(k.Hash),
			"created_at": avS(created), "created_by": avS(k.CreatedBy),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		return fmt.Errorf("create API key %q: %w", k.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create API key %q: %w", k.ID, err)
	}
	return nil
}

// GetAPIKey reads a key by id; ErrNotFound if there is none. Eventually
// consistent: it runs on every uncached authorization, at half the cost.
func (s *Store) GetAPIKey(ctx context.Context, id string) (*APIKey, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(apiKeyPK(id), apiKeySK)})
	if err != nil {
		return nil, fmt.Errorf("get API key %q: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get API key %q: %w", id, ErrNotFound)
	}
	return decodeAPIKey(out.Item), nil
}

// ListAPIKeys lists keys newest first.
func (s *Store) ListAPIKeys(ctx context.Context, limit int, cursor string) (Page[*APIKey], error) {
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiAPIKeys)},
		ScanIndexForward:          aws.Bool(false),
	}, pageOf{keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: gsiAPIKeys}, limit, cursor)
	if err != nil {
		return Page[*APIKey]{}, fmt.Errorf("list API keys: %w", err)
	}
	page := Page[*APIKey]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, decodeAPIKey(it))
	}
	return page, nil
}

// RevokeAPIKey marks a key revoked (once; revoking again keeps the first
// time). ErrNotFound for an unknown id.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (*APIKey, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(apiKeyPK(id), apiKeySK),
		UpdateExpression:          aws.String("SET #r = if_not_exists(#r, :at)"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#r": "revoked_at", "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": avT(at)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		return nil, fmt.Errorf("revoke API key %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("revoke API key %q: %w", id, err)
	}
	return decodeAPIKey(out.Attributes), nil
}

// TouchAPIKey records a use of the key, at most once per interval: the
// condition makes every other call in the interval a cheap no-op, however
// many authorizations run at once.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time, interval time.Duration) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(apiKeyPK(id), apiKeySK),
		UpdateExpression:          aws.String("SET #u = :at"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#u) OR #u < :before)"),
		ExpressionAttributeNames:  map[string]string{"#u": "last_used_at", "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": avT(at), ":before": avT(at.Add(-interval))},
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("touch API key %q: %w", id, err)
	}
	return nil
}

func decodeAPIKey(it item) *APIKey {
	return &APIKey{
		ID: getS(it, "id"), Name: getS(it, "name"), Role: getS(it, "role"), Hash: getS(it, "hash"),
		CreatedAt: getT(it, "created_at"), CreatedBy: getS(it, "created_by"),
		LastUsedAt: getT(it, "last_used_at"), RevokedAt: getT(it, "revoked_at"),
	}
}
