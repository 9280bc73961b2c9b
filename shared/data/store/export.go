package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// ExperimentAssignments reads one page of an experiment's assignments
// through gsi1 (in unit id order), each with the facts the counters are
// computed from: variant, assigned_at, first_exposed_at and the conversion
// marks. Eventually consistent, like the index.
func (s *Store) ExperimentAssignments(ctx context.Context, key string, limit int, cursor string) (Page[*experiment.Assignment], error) {
	pk := assignmentsOfExperiment(key)
	of := pageOf{keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: pk, itemPre: []string{userPrefix, devicePrefix}, itemSK: assignmentSK(key)}
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pk)},
	}, of, limit, cursor)
	if err != nil {
		return Page[*experiment.Assignment]{}, fmt.Errorf("assignments of experiment %q: %w", key, err)
	}
	page := Page[*experiment.Assignment]{Next: next, Items: make([]*experiment.Assignment, 0, len(items))}
	for _, it := range items {
		page.Items = append(page.Items, decodeAssignment(it))
	}
	return page, nil
}
