package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// ErrBadCursor: a pagination cursor that this store did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// Page is one page of a listing; Next is "" on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// ListExperiments lists non-archived experiments newest first, all of them
// or those of one status (one Query on an index either way).
func (s *Store) ListExperiments(ctx context.Context, status experiment.Status, limit int, cursor string) (Page[*experiment.Experiment], error) {
	index, pkAttr, skAttr, pk := GSI1, AttrGSI1PK, AttrGSI1SK, gsiAllExps
	if status != "" {
		index, pkAttr, skAttr, pk = GSI2, AttrGSI2PK, AttrGSI2SK, statusPK(string(status))
	}
	of := pageOf{keyAttrs: []string{AttrPK, AttrSK, pkAttr, skAttr}, partition: pkAttr, value: pk, itemPre: []string{experimentPK("")}, itemSK: skDefinition}
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pk)},
		ScanIndexForward:          aws.Bool(false),
	}, of, limit, cursor)
	if err != nil {
		return Page[*experiment.Experiment]{}, fmt.Errorf("list experiments: %w", err)
	}
	page := Page[*experiment.Experiment]{Next: next}
	for _, it := range items {
		e, err := decodeExperiment(it)
		if err != nil {
			return Page[*experiment.Experiment]{}, err
		}
		page.Items = append(page.Items, e)
	}
	return page, nil
}

// StatusCounts returns how many experiments are in each status.
func (s *Store) StatusCounts(ctx context.Context) (map[experiment.Status]int64, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: keyOf(pkDeployment, skStatusCnt), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("status counts: %w", err)
	}
	counts := map[experiment.Status]int64{}
	for _, st := range append(experiment.Statuses, experiment.Archived) {
		counts[st] = getN(out.Item, string(st))
	}
	return counts, nil
}

// History lists an experiment's audit trail, newest first.
func (s *Store) History(ctx context.Context, key string, limit int, cursor string) (Page[Change], error) {
	return s.historyOf(ctx, experimentPK(key), key, limit, cursor)
}

// historyOf pages through the audit trail kept in partition pk, newest
// first; key names it in errors.
func (s *Store) historyOf(ctx context.Context, pk, key string, limit int, cursor string) (Page[Change], error) {
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :h)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(pk), ":h": avS("HIST#"),
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
	}, pageOf{keyAttrs: []string{AttrPK, AttrSK}, partition: AttrPK, value: pk, sortAttr: AttrSK, sortPre: "HIST#"}, limit, cursor)
	if err != nil {
		return Page[Change]{}, fmt.Errorf("history of %q: %w", key, err)
	}
	page := Page[Change]{Next: next}
	for _, it := range items {
		c := Change{Version: getN(it, "version"), Action: getS(it, "action"), By: getS(it, "by"), At: getT(it, "at")}
		if d := getS(it, "details"); d != "" {
			c.Details = json.RawMessage(d)
		}
		page.Items = append(page.Items, c)
	}
	return page, nil
}

// pageOf says which keys a listing's cursor holds and the range it must
// stay in: a cursor from another listing (or made up) is ErrBadCursor, never
// a start key DynamoDB would refuse.
type pageOf struct {
	keyAttrs  []string // the key attributes of the queried table or index
	partition string   // the partition attribute the query is on
	value     string   // its value
	sortAttr  string   // optional: the sort attribute ...
	sortPre   string   // ... and the prefix the query's range has
	itemPre   []string // optional: the prefixes the listed items' table partition key (AttrPK) may have
	itemSK    string   // optional: the listed items' table sort key (AttrSK)
}

// DynamoDB's limits on a key attribute's value, in bytes of UTF-8: a start
// key beyond them is a ValidationException (a 500 to the caller).
const (
	maxPartitionKeyBytes = 2048
	maxSortKeyBytes      = 1024
)

// maxCursorLen bounds a cursor before it is decoded: the base64 of the
// longest JSON a cursor can be (two partition and two sort keys at their
// limits, every byte escaped as \u00XX, plus names and punctuation). Every
// cursor the store issues is shorter.
const maxCursorLen = ((6*(2*maxPartitionKeyBytes+2*maxSortKeyBytes)+256)*4 + 2) / 3

// keyLimit is the size limit of a key attribute's value.
func keyLimit(attr string) int {
	switch attr {
	case AttrPK, AttrGSI1PK, AttrGSI2PK:
		return maxPartitionKeyBytes
	}
	return maxSortKeyBytes
}

// queryPage runs a query for up to limit items from cursor. The cursor is
// the last item's key attributes, so it stays valid while items are added.
func (s *Store) queryPage(ctx context.Context, in *dynamodb.QueryInput, of pageOf, limit int, cursor string) ([]item, string, error) {
	if cursor != "" {
		start, err := decodeCursor(cursor, of)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	var items []item
	for len(items) < limit {
		in.Limit = aws.Int32(int32(limit - len(items)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", err
		}
		items = append(items, out.Items...)
		if out.LastEvaluatedKey == nil {
			return items, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	// A full page: the next one starts after its last item. It may turn out
	// empty, which clients handle like any last page.
	return items, encodeCursor(items[len(items)-1], of.keyAttrs), nil
}

// encodeCursor is the only form of a cursor: unpadded base64url of the JSON
// object of the key attributes' string values (encoding/json's output, keys
// sorted).
func encodeCursor(it item, keyAttrs []string) string {
	m := make(map[string]string, len(keyAttrs))
	for _, a := range keyAttrs {
		m[a] = getS(it, a)
	}
	return encodeCursorMap(m)
}

func encodeCursorMap(m map[string]string) string {
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the start key a cursor holds, or ErrBadCursor unless
// the cursor is exactly what encodeCursor gives for an item of this listing:
// bounded in length, base64url then a JSON object of exactly the listing's
// key attributes, each a non-empty string of valid UTF-8 within DynamoDB's
// key size limits, in the listing's partition (and range), and in canonical
// form (no other spelling of the same values: whitespace, escapes, duplicate
// names, padding or line breaks are refused).
func decodeCursor(cursor string, of pageOf) (item, error) {
	if len(cursor) > maxCursorLen {
		return nil, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || !utf8.Valid(b) {
		return nil, ErrBadCursor
	}
	var m map[string]string // a non-string value fails to decode
	if err := json.Unmarshal(b, &m); err != nil || len(m) != len(of.keyAttrs) {
		return nil, ErrBadCursor
	}
	start := item{}
	for _, a := range of.keyAttrs {
		v, ok := m[a]
		if !ok || v == "" || len(v) > keyLimit(a) || !utf8.ValidString(v) {
			return nil, ErrBadCursor
		}
		start[a] = avS(v)
	}
	// Canonical form: json.Unmarshal turns invalid UTF-8 and lone surrogates
	// into U+FFFD and lets the last of duplicate names win, so re-encoding
	// is what proves the values are the ones the cursor spells.
	if encodeCursorMap(m) != cursor {
		return nil, ErrBadCursor
	}
	if m[of.partition] != of.value ||
		(of.sortAttr != "" && !strings.HasPrefix(m[of.sortAttr], of.sortPre)) ||
		(len(of.itemPre) > 0 && !slices.ContainsFunc(of.itemPre, func(p string) bool { return strings.HasPrefix(m[AttrPK], p) })) ||
		(of.itemSK != "" && m[AttrSK] != of.itemSK) {
		return nil, ErrBadCursor
	}
	return start, nil
}
