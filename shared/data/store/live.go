package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// LiveExperiments returns every experiment that is not archived, with one
// Query of gsi1 (more pages only past 1 MB of definitions). The index is
// eventually consistent: a definition written a moment ago may show its
// previous version, which is why callers that must be exact read one
// definition with GetExperiment instead.
func (s *Store) LiveExperiments(ctx context.Context) ([]*experiment.Experiment, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiAllExps)},
	}
	var out []*experiment.Experiment
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("live experiments: %w", err)
		}
		for _, it := range page.Items {
			e, err := decodeExperiment(it)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
