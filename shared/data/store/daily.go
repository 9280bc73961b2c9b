package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
)

// A unit's daily totals (the source of its CUPED covariate) are one item
// per UTC day in its own partition, DAY#<yyyy-mm-dd>, holding per metric the raw
// total of that day's events (mx:<metric>, metric.HistoryAll), added to in
// the transaction that stores each event, assigned or not. A unit's first
// exposure in an experiment reads the days of its lookback window (one
// Query) and sets the covariate of each metric the experiment names on its
// assignment (mp:<metric>). The items
// expire MaxLookbackDays after their day, plus a margin: nothing reads
// them later.
const dayPrefix = "DAY#"

func daySK(day string) string { return dayPrefix + day }

// dayTTL is how long past the start of its day a daily item is kept.
const dayTTL = (experiment.MaxLookbackDays + 2) * 24 * time.Hour

// dailyItem is the update adding an event's raw values (metric key ->
// value, metric.HistoryAll) to its unit's day; nil when it adds nothing.
func (s *Store) dailyItem(ev *experiment.Event, ms []*metric.Metric) *types.TransactWriteItem {
	adds := metric.HistoryAll(ms, ev)
	if len(adds) == 0 {
		return nil
	}
	day := ev.Timestamp.UTC().Truncate(24 * time.Hour)
	names := map[string]string{"#ttl": AttrExpiresAt}
	values := map[string]types.AttributeValue{":ttl": avN(day.Add(dayTTL).Unix())}
	var parts []string
	for i, key := range sortedKeys(adds) {
		name, value := fmt.Sprintf("#h%d", i), fmt.Sprintf(":h%d", i)
		names[name], values[value] = valueAttr(key), avDecimal(adds[key])
		parts = append(parts, name+" "+value)
	}
	return &types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(unitPK(ev.Unit), daySK(experiment.Day(day))),
		UpdateExpression:          aws.String("SET #ttl = :ttl ADD " + strings.Join(parts, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

// preValues reads a unit's covariate for a first exposure at firstExposed:
// per metric key of keys, the sum of its daily totals over the lookback
// window (days whole UTC days before the exposure's day), in one
// consistent Query.
func (s *Store) preValues(ctx context.Context, unit experiment.UnitRef, firstExposed time.Time, days int, keys []string) (map[string]float64, error) {
	from, to := experiment.PreWindow(firstExposed, days)
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(unitPK(unit)), ":from": avS(daySK(from)), ":to": avS(daySK(to)),
		},
		ConsistentRead: aws.Bool(true),
	}
	var out map[string]float64
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("daily totals of %s: %w", unit, err)
		}
		for _, it := range page.Items {
			for key, v := range decodeValues(it) {
				if v.X == 0 || !slices.Contains(keys, key) {
					continue
				}
				if out == nil {
					out = map[string]float64{}
				}
				out[key] += v.X
			}
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
