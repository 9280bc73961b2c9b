package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Daily snapshots of an experiment's counters: pk EXP#<key>, sk
// SNAP#<YYYY-MM-DD> (UTC), beside the definition, so an experiment's whole
// series is one Query whatever the number of units. The counters are
// cumulative, so a day's snapshot is the day's figures as of when it was
// taken; the job taking them rewrites today's item until the day is over.

const skSnapshotPrefix = "SNAP#"

// SnapshotDayLayout is how a snapshot's day is written (UTC).
const SnapshotDayLayout = time.DateOnly

const (
	attrSnapAggregates = "aggregates" // experiment.Aggregates as JSON
	attrSnapTakenAt    = "taken_at"
)

// Snapshot is one day's copy of an experiment's counters.
type Snapshot struct {
	Day        string // YYYY-MM-DD, UTC
	TakenAt    time.Time
	Aggregates experiment.Aggregates
}

// PutSnapshot writes (or rewrites) experiment key's snapshot of day.
func (s *Store) PutSnapshot(ctx context.Context, key string, snap Snapshot) error {
	if _, err := time.Parse(SnapshotDayLayout, snap.Day); err != nil {
		return fmt.Errorf("snapshot of %q: day %q: %w", key, snap.Day, err)
	}
	blob, err := json.Marshal(snap.Aggregates)
	if err != nil {
		return fmt.Errorf("snapshot of %q: %w", key, err)
	}
	it := keyOf(experimentPK(key), skSnapshotPrefix+snap.Day)
	it[attrSnapAggregates] = avS(string(blob))
	it[attrSnapTakenAt] = avT(snap.TakenAt)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("snapshot of %q on %s: %w", key, snap.Day, err)
	}
	return nil
}

// ReadSnapshots returns experiment key's snapshots in day order: one Query
// (a page holds years of days).
func (s *Store) ReadSnapshots(ctx context.Context, key string) ([]Snapshot, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :snap)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(experimentPK(key)), ":snap": avS(skSnapshotPrefix),
		},
	}
	var out []Snapshot
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("snapshots of %q: %w", key, err)
		}
		for _, it := range page.Items {
			snap := Snapshot{Day: strings.TrimPrefix(getS(it, AttrSK), skSnapshotPrefix), TakenAt: getT(it, attrSnapTakenAt),
				Aggregates: experiment.NewAggregates()}
			if err := json.Unmarshal([]byte(getS(it, attrSnapAggregates)), &snap.Aggregates); err != nil {
				return nil, fmt.Errorf("snapshot of %q on %s: %w", key, snap.Day, err)
			}
			out = append(out, snap)
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
