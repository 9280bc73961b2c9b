package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// ErrVersionConflict: the experiment changed since the version the caller
// read. The error is a *VersionConflictError carrying the current version.
var ErrVersionConflict = errors.New("version conflict")

// VersionConflictError carries the experiment as it is now.
type VersionConflictError struct{ Current *experiment.Experiment }

func (e *VersionConflictError) Error() string {
	if e.Current == nil {
		return ErrVersionConflict.Error()
	}
	return fmt.Sprintf("%v: current version is %d", ErrVersionConflict, e.Current.Version)
}

func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }

// Change is one audit-trail entry: who did what to an experiment, and when.
type Change struct {
	Version int64           `json:"version"` // the version the change produced
	Action  string          `json:"action"`  // create, update, start, pause, resume, end, archive
	By      string          `json:"by"`
	At      time.Time       `json:"at"`
	Details json.RawMessage `json:"details,omitempty"`
}

// SaveExperiment replaces a definition that is still at version prev with e
// (whose Version must be prev+1), moves the status counts if the status
// changed, appends the change to the audit trail, and writes the layer
// allocations the change moves — all in one transaction, so a concurrent
// edit gets *VersionConflictError, a concurrent change of a layer gets
// ErrLayerChanged, and either writes nothing.
func (s *Store) SaveExperiment(ctx context.Context, e *experiment.Experiment, prev *experiment.Experiment, change Change, layers ...LayerWrite) error {
	if e.Version != prev.Version+1 || change.Version != e.Version {
		return fmt.Errorf("save experiment %q: version must advance by one from %d", e.Key, prev.Version)
	}
	it, err := encodeExperiment(e)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(s.table),
			Item:                                it,
			ConditionExpression:                 aws.String("#version = :prev"),
			ExpressionAttributeNames:            map[string]string{"#version": "version"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":prev": avN(prev.Version)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		s.historyPut(e.Key, change),
	}
	if e.Status != prev.Status {
		items = append(items, s.statusCountUpdate(prev.Status, e.Status))
	}
	first := len(items)
	for _, w := range layers {
		items = append(items, s.layerUpdate(w))
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if r, ok := cancellation(err, 0); ok && deref(r.Code) == conditionFailed {
		cur, derr := decodeExperiment(r.Item)
		if r.Item == nil || derr != nil {
			cur = nil
		}
		return fmt.Errorf("save experiment %q: %w", e.Key, &VersionConflictError{Current: cur})
	}
	if lerr := layerChanged(err, first, layers); lerr != nil {
		return fmt.Errorf("save experiment %q: %w", e.Key, lerr)
	}
	if err != nil {
		return fmt.Errorf("save experiment %q: %w", e.Key, err)
	}
	return nil
}

func historySK(version int64) string { return fmt.Sprintf("HIST#%012d", version) }

func (s *Store) historyPut(key string, c Change) types.TransactWriteItem {
	return s.historyPutAt(experimentPK(key), c)
}

// historyPutAt appends c to the audit trail kept in partition pk (the
// definition's own: experiments, flags and metrics).
func (s *Store) historyPutAt(pk string, c Change) types.TransactWriteItem {
	it := item{
		AttrPK:    avS(pk),
		AttrSK:    avS(historySK(c.Version)),
		"version": avN(c.Version),
		"action":  avS(c.Action),
		"by":      avS(c.By),
		"at":      avT(c.At),
	}
	if len(c.Details) > 0 {
		it["details"] = avS(string(c.Details))
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	}}
}
