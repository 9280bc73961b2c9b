package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// GetExperiment reads an experiment definition (strongly consistent). An
// archived experiment is returned as it is; callers decide what it means.
func (s *Store) GetExperiment(ctx context.Context, key string) (*experiment.Experiment, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(experimentPK(key), skDefinition),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get experiment %q: %w", key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get experiment %q: %w", key, ErrNotFound)
	}
	return decodeExperiment(out.Item)
}

// CreateExperiment stores a new experiment, and the allocation of its
// layer when it claims a slice (layers). ErrExists if the key was ever
// used, archived experiments included; ErrLayerChanged if the layer moved
// since its allocation was read.
func (s *Store) CreateExperiment(ctx context.Context, e *experiment.Experiment, layers ...LayerWrite) error {
	it, err := encodeExperiment(e)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     it,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
		}},
		s.statusCountUpdate("", e.Status),
		s.historyPut(e.Key, Change{Version: e.Version, Action: "create", By: e.CreatedBy, At: e.CreatedAt}),
	}
	first := len(items)
	for _, w := range layers {
		items = append(items, s.layerUpdate(w))
	}
	// transact: concurrent claims in one layer may conflict before either
	// condition is decided.
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		if reason, ok := cancellationReason(err, 0); ok && reason == conditionFailed {
			return fmt.Errorf("create experiment %q: %w", e.Key, ErrExists)
		}
		if lerr := layerChanged(err, first, layers); lerr != nil {
			return fmt.Errorf("create experiment %q: %w", e.Key, lerr)
		}
		return fmt.Errorf("create experiment %q: %w", e.Key, err)
	}
	return nil
}

// statusCountUpdate moves one experiment from one status count to another in
// the deployment's counter item (from "" = a new experiment).
func (s *Store) statusCountUpdate(from, to experiment.Status) types.TransactWriteItem {
	names := map[string]string{"#to": string(to)}
	values := map[string]types.AttributeValue{":one": avN(1)}
	expr := "ADD #to :one"
	if from != "" {
		names["#from"] = string(from)
		values[":minus"] = avN(-1)
		expr += ", #from :minus"
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(pkDeployment, skStatusCnt),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

type variantItem struct {
	Key     string  `json:"key"`
	Weight  float64 `json:"weight"`
	Payload *string `json:"payload,omitempty"`
}

func encodeExperiment(e *experiment.Experiment) (item, error) {
	variants := make([]types.AttributeValue, len(e.Variants))
	for i, v := range e.Variants {
		m := item{"key": avS(v.Key), "weight": avF(v.Weight)}
		if len(v.Payload) > 0 && string(v.Payload) != "null" {
			// Stored as JSON text: DynamoDB maps would reorder keys and
			// cannot hold every JSON number exactly.
			m["payload"] = avS(string(v.Payload))
		}
		if v.Name != "" {
			m["name"] = avS(v.Name)
		}
		if v.FlowID != "" {
			m["flow_id"] = avS(v.FlowID)
		}
		variants[i] = &types.AttributeValueMemberM{Value: m}
	}
	keys := make([]string, len(e.Variants))
	for i, v := range e.Variants {
		keys[i] = v.Key
	}
	created := formatTime(e.CreatedAt)
	it := item{
		AttrPK:        avS(experimentPK(e.Key)),
		AttrSK:        avS(skDefinition),
		"key":         avS(e.Key),
		"name":        avS(e.Name),
		"description": avS(e.Description),
		"status":      avS(string(e.Status)),
		"variants":    &types.AttributeValueMemberL{Value: variants},
		// The variant keys again, as a set a transaction can test with
		// contains(): an assignment can never name a removed variant.
		"variant_keys": &types.AttributeValueMemberSS{Value: keys},
		"coverage":     avF(e.Coverage),
		"version":      avN(e.Version),
		"created_at":   avS(created),
		"updated_at":   avT(e.UpdatedAt),
		"created_by":   avS(e.CreatedBy),
		"updated_by":   avS(e.UpdatedBy),
	}
	if len(e.Events) > 0 {
		// A list keeps the order the admin gave.
		names := make([]types.AttributeValue, len(e.Events))
		for i, n := range e.Events {
			names[i] = avS(n)
		}
		it["events"] = &types.AttributeValueMemberL{Value: names}
	}
	if !e.StartedAt.IsZero() {
		it["started_at"] = avT(e.StartedAt)
	}
	if !e.EndedAt.IsZero() {
		it["ended_at"] = avT(e.EndedAt)
	}
	if e.PrimaryEvent != "" {
		it["primary_event"] = avS(e.PrimaryEvent)
	}
	if e.StopOnGuardrail {
		it["stop_on_guardrail"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if e.Metrics.Primary != "" {
		it["primary_metric"] = avS(e.Metrics.Primary)
	}
	if len(e.Metrics.Secondary) > 0 {
		it["secondary_metrics"] = avList(e.Metrics.Secondary)
	}
	if len(e.Metrics.Guardrails) > 0 {
		it["guardrail_metrics"] = avList(e.Metrics.Guardrails)
	}
	encodeTargeting(it, e)
	encodeAnalysis(it, e.Analysis)
	if e.Status != experiment.Archived {
		it[AttrGSI1PK] = avS(gsiAllExps)
		it[AttrGSI1SK] = avS(created + "#" + e.Key)
		it[AttrGSI2PK] = avS(statusPK(string(e.Status)))
		it[AttrGSI2SK] = avS(created + "#" + e.Key)
	}
	return it, nil
}

func decodeExperiment(it item) (*experiment.Experiment, error) {
	e := &experiment.Experiment{
		Key:          getS(it, "key"),
		Name:         getS(it, "name"),
		Description:  getS(it, "description"),
		Status:       experiment.Status(getS(it, "status")),
		Coverage:     getF(it, "coverage"),
		Version:      getN(it, "version"),
		CreatedAt:    getT(it, "created_at"),
		StartedAt:    getT(it, "started_at"),
		EndedAt:      getT(it, "ended_at"),
		PrimaryEvent: getS(it, "primary_event"),
		StopOnGuardrail: func() bool {
			b, ok := it["stop_on_guardrail"].(*types.AttributeValueMemberBOOL)
			return ok && b.Value
		}(),
		Metrics: experiment.MetricRefs{Primary: getS(it, "primary_metric"),
			Secondary: getList(it, "secondary_metrics"), Guardrails: getList(it, "guardrail_metrics")},
		UpdatedAt: getT(it, "updated_at"),
		CreatedBy: getS(it, "created_by"),
		UpdatedBy: getS(it, "updated_by"),
	}
	if names, ok := it["events"].(*types.AttributeValueMemberL); ok {
		for _, av := range names.Value {
			if n, ok := av.(*types.AttributeValueMemberS); ok {
				e.Events = append(e.Events, n.Value)
			}
		}
	}
	if err := decodeTargeting(it, e); err != nil {
		return nil, fmt.Errorf("decode experiment %q: %w", e.Key, err)
	}
	e.Analysis = decodeAnalysis(it)
	list, ok := it["variants"].(*types.AttributeValueMemberL)
	if !ok {
		return nil, fmt.Errorf("decode experiment %q: %w", e.Key, errors.New("variants missing"))
	}
	for _, av := range list.Value {
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("decode experiment %q: %w", e.Key, errors.New("variant is not a map"))
		}
		v := experiment.Variant{Key: getS(m.Value, "key"), Weight: getF(m.Value, "weight"),
			Name: getS(m.Value, "name"), FlowID: getS(m.Value, "flow_id")}
		if p := getS(m.Value, "payload"); p != "" {
			v.Payload = json.RawMessage(p)
		}
		e.Variants = append(e.Variants, v)
	}
	return e, nil
}

// An experiment's analysis settings: absent attributes are the defaults.
const (
	attrSequentialTuning = "sequential_tuning"
	attrPriorMean        = "prior_mean"
	attrPriorStdDev      = "prior_stddev"
	attrLookbackDays     = "cuped_lookback_days"
)

func encodeAnalysis(it item, a experiment.Analysis) {
	if a.SequentialTuning != 0 {
		it[attrSequentialTuning] = avF(a.SequentialTuning)
	}
	if a.Prior != nil {
		it[attrPriorMean], it[attrPriorStdDev] = avF(a.Prior.Mean), avF(a.Prior.StdDev)
	}
	if a.LookbackDays != 0 {
		it[attrLookbackDays] = avN(int64(a.LookbackDays))
	}
}

func decodeAnalysis(it item) experiment.Analysis {
	a := experiment.Analysis{SequentialTuning: getF(it, attrSequentialTuning), LookbackDays: int(getN(it, attrLookbackDays))}
	if _, ok := it[attrPriorStdDev]; ok {
		a.Prior = &experiment.Prior{Mean: getF(it, attrPriorMean), StdDev: getF(it, attrPriorStdDev)}
	}
	return a
}
