package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/savedgroup"
)

// Saved groups live in one partition, so every group is one Query away
// (the request path's cache reads them all at once): a head item per group,
// its values in chunk items under 400 KB each, and a revision item that
// every change moves, so the cache can tell with one small read that
// nothing changed.
const (
	pkSavedGroups      = "SAVEDGROUPS"
	skSavedGroupsRev   = "REVISION"
	savedGroupHeadPre  = "G#"
	savedGroupChunkPre = "V#"
	// savedGroupChunkBytes is the most JSON one chunk item holds: far
	// under DynamoDB's 400 KB item limit whatever the key.
	savedGroupChunkBytes = 256 << 10
	// savedGroupReadAttempts bounds re-reads of a group whose chunks and
	// head disagree because a write landed between the two reads.
	savedGroupReadAttempts = 3
)

func savedGroupSK(key string) string     { return savedGroupHeadPre + key }
func savedGroupChunks(key string) string { return savedGroupChunkPre + key + "#" }
func savedGroupChunkSK(key string, i int) string {
	return fmt.Sprintf("%s%03d", savedGroupChunks(key), i)
}

// SavedGroupConflictError: the group is not at the version the caller
// read. Current is its version now (0: it was deleted).
type SavedGroupConflictError struct{ Current int64 }

func (e *SavedGroupConflictError) Error() string {
	return fmt.Sprintf("%v: current version is %d", ErrVersionConflict, e.Current)
}

func (e *SavedGroupConflictError) Is(target error) bool { return target == ErrVersionConflict }

// errTornRead: a group's chunks kept disagreeing with its head.
var errTornRead = errors.New("saved group changed during every read")

// CreateSavedGroup stores a new group; ErrExists if the key is taken.
func (s *Store) CreateSavedGroup(ctx context.Context, g *savedgroup.Group) error {
	chunks := chunkValues(g.Values)
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName:                aws.String(s.table),
		Item:                     encodeSavedGroupHead(g, len(chunks)),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	}}}
	items = append(items, s.savedGroupChunkPuts(g, chunks)...)
	items = append(items, s.savedGroupsRevisionUpdate())
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
		return fmt.Errorf("create saved group %q: %w", g.Key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create saved group %q: %w", g.Key, err)
	}
	return nil
}

// SaveSavedGroup replaces a group that is still at version prev with g
// (whose Version must be prev+1): head, chunks, and the deletion of
// chunks it no longer needs, in one transaction. A concurrent change gets
// *SavedGroupConflictError and writes nothing.
func (s *Store) SaveSavedGroup(ctx context.Context, g *savedgroup.Group, prev int64) error {
	if g.Version != prev+1 {
		return fmt.Errorf("save saved group %q: version must advance by one from %d", g.Key, prev)
	}
	head, err := s.savedGroupHead(ctx, g.Key)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("save saved group %q: %w", g.Key, &SavedGroupConflictError{})
	}
	if err != nil {
		return err
	}
	if cur := getN(head, "version"); cur != prev {
		return fmt.Errorf("save saved group %q: %w", g.Key, &SavedGroupConflictError{Current: cur})
	}
	chunks := chunkValues(g.Values)
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName:                           aws.String(s.table),
		Item:                                encodeSavedGroupHead(g, len(chunks)),
		ConditionExpression:                 aws.String("#version = :prev"),
		ExpressionAttributeNames:            map[string]string{"#version": "version"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":prev": avN(prev)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}}
	items = append(items, s.savedGroupChunkPuts(g, chunks)...)
	for i := len(chunks); i < int(getN(head, "chunks")); i++ {
		items = append(items, s.savedGroupChunkDelete(g.Key, i))
	}
	items = append(items, s.savedGroupsRevisionUpdate())
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
		return fmt.Errorf("save saved group %q: %w", g.Key, &SavedGroupConflictError{Current: getN(r.Item, "version")})
	}
	if err != nil {
		return fmt.Errorf("save saved group %q: %w", g.Key, err)
	}
	return nil
}

// DeleteSavedGroup deletes a group, head and chunks at once; ErrNotFound
// if there is none.
func (s *Store) DeleteSavedGroup(ctx context.Context, key string) error {
	for attempt := 1; ; attempt++ {
		head, err := s.savedGroupHead(ctx, key)
		if err != nil {
			return err
		}
		version := getN(head, "version")
		items := []types.TransactWriteItem{{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(pkSavedGroups, savedGroupSK(key)),
			ConditionExpression:       aws.String("#version = :read"),
			ExpressionAttributeNames:  map[string]string{"#version": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":read": avN(version)},
		}}}
		for i := range int(getN(head, "chunks")) {
			items = append(items, s.savedGroupChunkDelete(key, i))
		}
		items = append(items, s.savedGroupsRevisionUpdate())
		err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed && attempt < savedGroupReadAttempts {
			continue // replaced meanwhile, maybe with more chunks: read it again
		}
		if err != nil {
			return fmt.Errorf("delete saved group %q: %w", key, err)
		}
		return nil
	}
}

// GetSavedGroup reads a group with its values (strongly consistent);
// ErrNotFound if there is none.
func (s *Store) GetSavedGroup(ctx context.Context, key string) (*savedgroup.Group, error) {
	for attempt := 1; ; attempt++ {
		head, err := s.savedGroupHead(ctx, key)
		if err != nil {
			return nil, err
		}
		chunks, err := s.queryAll(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :pre)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": avS(pkSavedGroups), ":pre": avS(savedGroupChunks(key)),
			},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("get saved group %q: %w", key, err)
		}
		g := decodeSavedGroupHead(head)
		values, whole, err := assembleValues(head, chunks)
		if err != nil {
			return nil, fmt.Errorf("get saved group %q: %w", key, err)
		}
		if whole {
			g.Values = values
			return g, nil
		}
		if attempt == savedGroupReadAttempts {
			return nil, fmt.Errorf("get saved group %q: %w", key, errTornRead)
		}
	}
}

// ListSavedGroups lists groups by key, without their values.
func (s *Store) ListSavedGroups(ctx context.Context, limit int, cursor string) (Page[*savedgroup.Group], error) {
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :pre)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(pkSavedGroups), ":pre": avS(savedGroupHeadPre),
		},
		ConsistentRead: aws.Bool(true),
	}, pageOf{keyAttrs: []string{AttrPK, AttrSK}, partition: AttrPK, value: pkSavedGroups, sortAttr: AttrSK, sortPre: savedGroupHeadPre}, limit, cursor)
	if err != nil {
		return Page[*savedgroup.Group]{}, fmt.Errorf("list saved groups: %w", err)
	}
	page := Page[*savedgroup.Group]{Next: next}
	for _, it := range items {
		page.Items = append(page.Items, decodeSavedGroupHead(it))
	}
	return page, nil
}

// SavedGroupsRevision reads the number every change of a group moves
// (strongly consistent, one small item): 0 before the first group.
func (s *Store) SavedGroupsRevision(ctx context.Context) (int64, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: keyOf(pkSavedGroups, skSavedGroupsRev), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, fmt.Errorf("saved groups revision: %w", err)
	}
	return getN(out.Item, "revision"), nil
}

// AllSavedGroups reads every group's values with one Query of the groups'
// partition (strongly consistent; more pages only past 1 MB). torn names
// the groups whose chunks disagreed with their head because a write landed
// while the query ran: they are left out, and a caller holding an older
// copy keeps it until it reads again.
func (s *Store) AllSavedGroups(ctx context.Context) (groups conditions.SavedGroups, torn []string, err error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pkSavedGroups)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("all saved groups: %w", err)
	}
	heads := map[string]item{}
	chunks := map[string][]item{}
	for _, it := range items {
		sk := getS(it, AttrSK)
		switch {
		case strings.HasPrefix(sk, savedGroupHeadPre):
			heads[getS(it, "key")] = it
		case strings.HasPrefix(sk, savedGroupChunkPre):
			chunks[getS(it, "key")] = append(chunks[getS(it, "key")], it)
		}
	}
	groups = make(conditions.SavedGroups, len(heads))
	for key, head := range heads {
		values, whole, err := assembleValues(head, chunks[key])
		if err != nil {
			return nil, nil, fmt.Errorf("saved group %q: %w", key, err)
		}
		if !whole {
			torn = append(torn, key)
			continue
		}
		groups[key] = values
	}
	return groups, torn, nil
}

func (s *Store) savedGroupHead(ctx context.Context, key string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: keyOf(pkSavedGroups, savedGroupSK(key)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("saved group %q: %w", key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("saved group %q: %w", key, ErrNotFound)
	}
	return out.Item, nil
}

// queryAll runs a query to its last page.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]item, error) {
	var out []item
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func (s *Store) savedGroupChunkPuts(g *savedgroup.Group, chunks []string) []types.TransactWriteItem {
	out := make([]types.TransactWriteItem, len(chunks))
	for i, c := range chunks {
		out[i] = types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.table),
			Item: item{
				AttrPK: avS(pkSavedGroups), AttrSK: avS(savedGroupChunkSK(g.Key, i)),
				"key": avS(g.Key), "version": avN(g.Version), "values": avS(c),
			},
		}}
	}
	return out
}

func (s *Store) savedGroupChunkDelete(key string, i int) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(s.table), Key: keyOf(pkSavedGroups, savedGroupChunkSK(key, i)),
	}}
}

func (s *Store) savedGroupsRevisionUpdate() types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(pkSavedGroups, skSavedGroupsRev),
		UpdateExpression:          aws.String("ADD #rev :one"),
		ExpressionAttributeNames:  map[string]string{"#rev": "revision"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": avN(1)},
	}}
}

// chunkValues splits the values' JSON into arrays of at most
// savedGroupChunkBytes each; there is always one, "[]" for no values.
func chunkValues(values []any) []string {
	var chunks []string
	var b bytes.Buffer
	b.WriteByte('[')
	n := 0
	for _, v := range values {
		j := savedgroup.ValueJSON(v)
		if n > 0 && b.Len()+len(j)+2 > savedGroupChunkBytes {
			b.WriteByte(']')
			chunks = append(chunks, b.String())
			b.Reset()
			b.WriteByte('[')
			n = 0
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(j)
		n++
	}
	b.WriteByte(']')
	return append(chunks, b.String())
}

// assembleValues joins a group's chunks in order; whole is false when
// they are not exactly the head's version and count (a write in flight).
func assembleValues(head item, chunks []item) (values []any, whole bool, err error) {
	version, count := getN(head, "version"), int(getN(head, "chunks"))
	byIndex := make([]string, count)
	found := 0
	for _, c := range chunks {
		sk := getS(c, AttrSK)
		i, perr := strconv.Atoi(sk[strings.LastIndexByte(sk, '#')+1:])
		if perr != nil || getN(c, "version") != version || i >= count || byIndex[i] != "" {
			return nil, false, nil
		}
		byIndex[i] = getS(c, "values")
		found++
	}
	if found != count {
		return nil, false, nil
	}
	values = make([]any, 0, getN(head, "size"))
	for _, text := range byIndex {
		var part []any
		if err := json.Unmarshal([]byte(text), &part); err != nil {
			return nil, false, err
		}
		values = append(values, part...)
	}
	return values, true, nil
}

func encodeSavedGroupHead(g *savedgroup.Group, chunks int) item {
	return item{
		AttrPK: avS(pkSavedGroups), AttrSK: avS(savedGroupSK(g.Key)),
		"key": avS(g.Key), "name": avS(g.Name), "version": avN(g.Version),
		"size": avN(int64(len(g.Values))), "chunks": avN(int64(chunks)),
		"created_at": avT(g.CreatedAt), "created_by": avS(g.CreatedBy),
		"updated_at": avT(g.UpdatedAt), "updated_by": avS(g.UpdatedBy),
	}
}

func decodeSavedGroupHead(it item) *savedgroup.Group {
	return &savedgroup.Group{
		Key: getS(it, "key"), Name: getS(it, "name"), Version: getN(it, "version"), Size: int(getN(it, "size")),
		CreatedAt: getT(it, "created_at"), CreatedBy: getS(it, "created_by"),
		UpdatedAt: getT(it, "updated_at"), UpdatedBy: getS(it, "updated_by"),
	}
}
