package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/layer"
)

const (
	skLayer     = "LAYER"
	gsiLayers   = "LAYERS"
	layerLive   = "live"
	layerGone   = "archived"
	attrHolders = "holders"
)

func layerPK(key string) string { return "LAYER#" + key }

// ErrLayerChanged: a layer's allocation moved since it was read, so a
// claim or release decided on it was not written. The caller reads the
// layer again and decides again.
var ErrLayerChanged = errors.New("layer changed")

// LayerNotEmptyError refuses to archive a layer whose slices are held; it
// carries the holders.
type LayerNotEmptyError struct{ Holders []layer.Holder }

func (e *LayerNotEmptyError) Error() string {
	return fmt.Sprintf("layer not empty: %d holders", len(e.Holders))
}

// LayerWrite is a layer's new allocation, written in the transaction that
// saves the experiment whose entry it changes, on condition that the layer
// is still live and at the Version the allocation was decided on. Two
// concurrent claims in one layer cannot both pass that condition, so no
// race can store overlapping slices.
type LayerWrite struct {
	Key     string
	Version int64 // the version read
	Holders []layer.Holder
}

// CreateLayer stores a new layer with an empty allocation. ErrExists if
// the key was ever used, archived layers included.
func (s *Store) CreateLayer(ctx context.Context, l *layer.Layer) error {
	created := formatTime(l.CreatedAt)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: item{
			AttrPK: avS(layerPK(l.Key)), AttrSK: avS(skLayer),
			AttrGSI1PK: avS(gsiLayers), AttrGSI1SK: avS(created + "#" + l.Key),
			"key": avS(l.Key), "name": avS(l.Name), "description": avS(l.Description),
			"status": avS(layerLive), attrHolders: encodeHolders(nil), "version": avN(l.Version),
			"created_at": avS(created), "created_by": avS(l.CreatedBy),
			"updated_at": avT(l.UpdatedAt), "updated_by": avS(l.UpdatedBy),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		return fmt.Errorf("create layer %q: %w", l.Key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create layer %q: %w", l.Key, err)
	}
	return nil
}

// GetLayer reads a layer (strongly consistent: claims are decided on it).
// An archived layer is returned as it is; ErrNotFound if there is none.
func (s *Store) GetLayer(ctx context.Context, key string) (*layer.Layer, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: keyOf(layerPK(key), skLayer), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get layer %q: %w", key, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get layer %q: %w", key, ErrNotFound)
	}
	return decodeLayer(out.Item)
}

// ListLayers lists non-archived layers newest first (one Query of gsi1).
func (s *Store) ListLayers(ctx context.Context, limit int, cursor string) (Page[*layer.Layer], error) {
	items, next, err := s.queryPage(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(GSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(gsiLayers)},
		ScanIndexForward:          aws.Bool(false),
	}, pageOf{keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, partition: AttrGSI1PK, value: gsiLayers, itemPre: []string{layerPK("")}, itemSK: skLayer}, limit, cursor)
	if err != nil {
		return Page[*layer.Layer]{}, fmt.Errorf("list layers: %w", err)
	}
	page := Page[*layer.Layer]{Next: next}
	for _, it := range items {
		l, err := decodeLayer(it)
		if err != nil {
			return Page[*layer.Layer]{}, err
		}
		page.Items = append(page.Items, l)
	}
	return page, nil
}

// ArchiveLayer archives a live layer whose allocation is empty, in one
// conditional update: a claim racing it either lands first (and the
// archive is refused) or finds the layer archived. ErrNotFound for an
// unknown or archived layer; *LayerNotEmptyError when slices are held.
func (s *Store) ArchiveLayer(ctx context.Context, key string, at time.Time, by string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              keyOf(layerPK(key), skLayer),
		UpdateExpression: aws.String("SET #status = :gone, #version = #version + :one, updated_at = :at, updated_by = :by REMOVE #g1pk, #g1sk"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #status = :live AND " +
			"(attribute_not_exists(#holders) OR size(#holders) = :zero)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#status": "status", "#version": "version", "#holders": attrHolders,
			"#g1pk": AttrGSI1PK, "#g1sk": AttrGSI1SK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":gone": avS(layerGone), ":live": avS(layerLive), ":one": avN(1), ":zero": avN(0),
			":at": avT(at), ":by": avS(by),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if asError(err, &ccf) {
		if ccf.Item == nil {
			return fmt.Errorf("archive layer %q: %w", key, ErrNotFound)
		}
		cur, derr := decodeLayer(ccf.Item)
		if derr != nil {
			return fmt.Errorf("archive layer %q: %w", key, derr)
		}
		if cur.Archived {
			return fmt.Errorf("archive layer %q: %w", key, ErrNotFound)
		}
		return fmt.Errorf("archive layer %q: %w", key, &LayerNotEmptyError{Holders: cur.Holders})
	}
	if err != nil {
		return fmt.Errorf("archive layer %q: %w", key, err)
	}
	return nil
}

// layerUpdate is the transaction item of a LayerWrite.
func (s *Store) layerUpdate(w LayerWrite) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:           aws.String(s.table),
		Key:                 keyOf(layerPK(w.Key), skLayer),
		UpdateExpression:    aws.String("SET #holders = :holders, #version = :next"),
		ConditionExpression: aws.String("#version = :read AND #status = :live"),
		ExpressionAttributeNames: map[string]string{
			"#holders": attrHolders, "#version": "version", "#status": "status",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":holders": encodeHolders(w.Holders), ":next": avN(w.Version + 1), ":read": avN(w.Version), ":live": avS(layerLive),
		},
	}}
}

// layerChanged returns ErrLayerChanged when a layer write of a cancelled
// transaction (items from first on) failed its condition.
func layerChanged(err error, first int, writes []LayerWrite) error {
	for i, w := range writes {
		if reason, ok := cancellationReason(err, first+i); ok && reason == conditionFailed {
			return fmt.Errorf("layer %q: %w", w.Key, ErrLayerChanged)
		}
	}
	return nil
}

func encodeHolders(holders []layer.Holder) types.AttributeValue {
	list := make([]types.AttributeValue, len(holders))
	for i, h := range holders {
		list[i] = &types.AttributeValueMemberM{Value: item{
			"experiment": avS(h.Experiment), "status": avS(string(h.Status)), "start": avF(h.Start), "end": avF(h.End),
		}}
	}
	return &types.AttributeValueMemberL{Value: list}
}

func decodeLayer(it item) (*layer.Layer, error) {
	l := &layer.Layer{
		Key: getS(it, "key"), Name: getS(it, "name"), Description: getS(it, "description"),
		Archived: getS(it, "status") == layerGone, Version: getN(it, "version"),
		CreatedAt: getT(it, "created_at"), CreatedBy: getS(it, "created_by"),
		UpdatedAt: getT(it, "updated_at"), UpdatedBy: getS(it, "updated_by"),
	}
	list, ok := it[attrHolders].(*types.AttributeValueMemberL)
	if !ok {
		return nil, fmt.Errorf("decode layer %q: holders missing", l.Key)
	}
	for _, av := range list.Value {
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("decode layer %q: a holder is not a map", l.Key)
		}
		l.Holders = append(l.Holders, layer.Holder{
			Experiment: getS(m.Value, "experiment"), Status: experiment.Status(getS(m.Value, "status")),
			Start: getF(m.Value, "start"), End: getF(m.Value, "end"),
		})
	}
	return l, nil
}
