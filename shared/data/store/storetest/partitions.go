package storetest

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
)

// Partitions wraps a client and records the partition key of every item a
// write names (puts, updates, deletes, transactions and their condition
// checks), so a test can show which items a request writes or conditions
// on: DynamoDB Local never reports the transaction conflicts that shared
// items cause on DynamoDB. Reads do not conflict and are not recorded.
type Partitions struct {
	store.DynamoDB
	mu  sync.Mutex
	pks map[string]int
}

// NewPartitions wraps db.
func NewPartitions(db store.DynamoDB) *Partitions {
	return &Partitions{DynamoDB: db, pks: map[string]int{}}
}

// Reset forgets what was seen.
func (p *Partitions) Reset() {
	p.mu.Lock()
	p.pks = map[string]int{}
	p.mu.Unlock()
}

// OtherThan returns the partitions touched other than those named.
func (p *Partitions) OtherThan(allowed ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for pk := range p.pks {
		ok := false
		for _, a := range allowed {
			ok = ok || pk == a
		}
		if !ok {
			out = append(out, pk)
		}
	}
	sort.Strings(out)
	return out
}

func (p *Partitions) note(key map[string]types.AttributeValue) {
	if v, ok := key[store.AttrPK].(*types.AttributeValueMemberS); ok {
		p.mu.Lock()
		p.pks[v.Value]++
		p.mu.Unlock()
	}
}

func (p *Partitions) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	p.note(in.Item)
	return p.DynamoDB.PutItem(ctx, in, o...)
}

func (p *Partitions) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	p.note(in.Key)
	return p.DynamoDB.UpdateItem(ctx, in, o...)
}

func (p *Partitions) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			p.note(it.Put.Item)
		case it.Update != nil:
			p.note(it.Update.Key)
		case it.Delete != nil:
			p.note(it.Delete.Key)
		case it.ConditionCheck != nil:
			p.note(it.ConditionCheck.Key)
		}
	}
	return p.DynamoDB.TransactWriteItems(ctx, in, o...)
}
