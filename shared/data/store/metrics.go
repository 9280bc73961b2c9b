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

// metricDefs: metrics are kept as versioned definitions.
var metricDefs = versioned[*metric.Metric]{what: "metric", pk: metricPK, gsi: gsiMetrics,
	encode: func(m *metric.Metric) (item, error) { return encodeMetric(m), nil }, decode: decodeMetric}

// CreateMetric stores a new metric with its first audit entry. ErrExists
// if the key was ever used, archived metrics included.
func (s *Store) CreateMetric(ctx context.Context, m *metric.Metric) error {
	return metricDefs.create(ctx, s, m.Key, m, Change{Version: m.Version, Action: "create", By: m.CreatedBy, At: m.CreatedAt})
}

// GetMetric reads a metric (strongly consistent), archived or not;
// ErrNotFound if the key was never used.
func (s *Store) GetMetric(ctx context.Context, key string) (*metric.Metric, error) {
	return metricDefs.get(ctx, s, key)
}

// ListMetrics lists live metrics, newest first.
func (s *Store) ListMetrics(ctx context.Context, limit int, cursor string) (Page[*metric.Metric], error) {
	return metricDefs.list(ctx, s, limit, cursor)
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
	cur, conflict, err := metricDefs.save(ctx, s, m.Key, m, m.Version-1, change)
	if conflict {
		return fmt.Errorf("save metric %q: %w", m.Key, &MetricVersionConflictError{Current: cur})
	}
	return err
}

// MetricHistory lists a metric's audit trail, newest first.
func (s *Store) MetricHistory(ctx context.Context, key string, limit int, cursor string) (Page[Change], error) {
	return metricDefs.history(ctx, s, key, limit, cursor)
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
	return metricDefs.live(ctx, s, func(m *metric.Metric) bool { return m.Status != metric.Archived })
}
