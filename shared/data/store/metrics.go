package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/metric"
)

// Metric definitions: pk METRIC#<key>, sk DEF, listed on gsi1 under METRICS
// while live; their audit trail beside them (HIST#<version>), written in
// the same transaction as each version.

const gsiMetrics = "METRICS"

func metricPK(key string) string { return "METRIC#" + key }

// CreateMetric stores a new metric with its first audit entry. ErrExists
// if the key was ever used, archived metrics included.
func (s *Store) CreateMetric(ctx context.Context, m *metric.Metric) error {
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     encodeMetric(m),
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}},
		s.historyPutAt(metricPK(m.Key), Change{Version: m.Version, Action: "create", By: m.CreatedBy, At: m.CreatedAt}),
	}})
	if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
		return fmt.Errorf("create metric %q: %w", m.Key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create metric %q: %w", m.Key, err)
	}
	return nil
}

// GetMetric reads a metric (strongly consistent), archived or not;
// ErrNotFound if the key was never used.
func (s *Store) GetMetric(ctx context.Context, key string) (*metric.Metric, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(metricPK(key), skDefinition),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get metric %q: %w", key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get metric %q: %w", key, ErrNotFound)
	}
	return decodeMetric(out.Item)
}

// ListMetrics lists live metrics, newest first.
func (s *Store) ListMetrics(ctx context.Context, limit int, cursor string) (Page[*metric.Metric], error) {
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiMetrics)},
		ScanIndexForward:          aws.Bool(false),
	}, pageOf{
		keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: gsiMetrics,
		itemPre: []string{metricPK("")}, itemSK: skDefinition,
	}, limit, cursor)
	if err != nil {
		return Page[*metric.Metric]{}, fmt.Errorf("list metrics: %w", err)
	}
	page := Page[*metric.Metric]{Next: next}
	for _, it := range items {
		m, err := decodeMetric(it)
		if err != nil {
			return Page[*metric.Metric]{}, err
		}
		page.Items = append(page.Items, m)
	}
	return page, nil
}

// MetricVersionConflictError: the metric is not at the version a save
// expected. Current is the stored metric (nil if unknown).
type MetricVersionConflictError struct{ Current *metric.Metric }

func (e *MetricVersionConflictError) Error() string { return "metric version conflict" }

// SaveMetric replaces a metric still at version m.Version-1 with m and
// appends change to its audit trail, in one transaction; otherwise
// *MetricVersionConflictError and nothing is written.
func (s *Store) SaveMetric(ctx context.Context, m *metric.Metric, change Change) error {
	if change.Version != m.Version {
		return fmt.Errorf("save metric %q: the change must carry version %d", m.Key, m.Version)
	}
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(s.table),
			Item:                                encodeMetric(m),
			ConditionExpression:                 aws.String("#version = :prev"),
			ExpressionAttributeNames:            map[string]string{"#version": "version"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":prev": avN(m.Version - 1)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		s.historyPutAt(metricPK(m.Key), change),
	}})
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
		var cur *metric.Metric
		if r.Item != nil {
			cur, _ = decodeMetric(r.Item)
		}
		return fmt.Errorf("save metric %q: %w", m.Key, &MetricVersionConflictError{Current: cur})
	}
	if err != nil {
		return fmt.Errorf("save metric %q: %w", m.Key, err)
	}
	return nil
}

// MetricHistory lists a metric's audit trail, newest first.
func (s *Store) MetricHistory(ctx context.Context, key string, limit int, cursor string) (Page[Change], error) {
	page, err := s.historyOf(ctx, metricPK(key), limit, cursor)
	if err != nil {
		return Page[Change]{}, fmt.Errorf("history of metric %q: %w", key, err)
	}
	return page, nil
}

// The definition's computing part is kept as JSON text: it is read whole,
// never queried, and new fields need no new attributes.
type metricSpec struct {
	Type        metric.Type       `json:"type"`
	Event       string            `json:"event,omitempty"`
	Property    string            `json:"property,omitempty"`
	Numerator   *metric.Component `json:"numerator,omitempty"`
	Denominator *metric.Component `json:"denominator,omitempty"`
	Cap         float64           `json:"cap,omitempty"`
	WindowHours int               `json:"window_hours,omitempty"`
}

func encodeMetric(m *metric.Metric) item {
	spec, _ := json.Marshal(metricSpec{Type: m.Type, Event: m.Event, Property: m.Property, Numerator: m.Numerator,
		Denominator: m.Denominator, Cap: m.Cap, WindowHours: m.WindowHours}) // plain fields: cannot fail
	created := formatTime(m.CreatedAt)
	it := item{
		AttrPK:        avS(metricPK(m.Key)),
		AttrSK:        avS(skDefinition),
		"key":         avS(m.Key),
		"name":        avS(m.Name),
		"description": avS(m.Description),
		"spec":        avS(string(spec)),
		"direction":   avS(string(m.Direction)),
		"status":      avS(string(m.Status)),
		"version":     avN(m.Version),
		"created_at":  avS(created),
		"updated_at":  avT(m.UpdatedAt),
		"created_by":  avS(m.CreatedBy),
		"updated_by":  avS(m.UpdatedBy),
	}
	if m.Status != metric.Archived {
		it[AttrGSI1PK] = avS(gsiMetrics)
		it[AttrGSI1SK] = avS(created + "#" + m.Key)
	}
	return it
}

func decodeMetric(it item) (*metric.Metric, error) {
	m := &metric.Metric{
		Key: getS(it, "key"), Name: getS(it, "name"), Description: getS(it, "description"),
		Direction: metric.Direction(getS(it, "direction")), Status: metric.Status(getS(it, "status")),
		Version: getN(it, "version"), CreatedAt: getT(it, "created_at"), UpdatedAt: getT(it, "updated_at"),
		CreatedBy: getS(it, "created_by"), UpdatedBy: getS(it, "updated_by"),
	}
	var spec metricSpec
	if err := json.Unmarshal([]byte(getS(it, "spec")), &spec); err != nil {
		return nil, fmt.Errorf("decode metric %q: %w", m.Key, err)
	}
	m.Type, m.Event, m.Property, m.Numerator, m.Denominator = spec.Type, spec.Event, spec.Property, spec.Numerator, spec.Denominator
	m.Cap, m.WindowHours = spec.Cap, spec.WindowHours
	return m, nil
}

// GetMetrics reads the metrics of keys (archived ones included) with one
// BatchGetItem per 100 keys; unknown keys are left out of the map.
func (s *Store) GetMetrics(ctx context.Context, keys []string) (map[string]*metric.Metric, error) {
	out := map[string]*metric.Metric{}
	for start := 0; start < len(keys); start += 100 {
		var ks []map[string]types.AttributeValue
		seen := map[string]bool{}
		for _, k := range keys[start:min(start+100, len(keys))] {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, keyOf(metricPK(k), skDefinition))
			}
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: ks, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt >= 10 {
				return nil, fmt.Errorf("get metrics: unprocessed keys after %d attempts", attempt)
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("get metrics: %w", err)
			}
			for _, it := range res.Responses[s.table] {
				m, err := decodeMetric(it)
				if err != nil {
					return nil, err
				}
				out[m.Key] = m
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// LiveMetrics returns every live metric with Queries of gsi1 (an
// eventually consistent index: a metric made or archived a moment ago may
// lag).
func (s *Store) LiveMetrics(ctx context.Context) ([]*metric.Metric, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiMetrics)},
	}
	var out []*metric.Metric
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("live metrics: %w", err)
		}
		for _, it := range page.Items {
			m, err := decodeMetric(it)
			if err != nil {
				return nil, err
			}
			if m.Status != metric.Archived { // the index may lag an archive
				out = append(out, m)
			}
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
