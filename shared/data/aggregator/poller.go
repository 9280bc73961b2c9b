package aggregator

// The poller stands in for Lambda's event source mapping where there is none
// (make run, the tests): it reads DynamoDB Local's stream of the table shard
// by shard, in order, and hands the records to the same aggregator the
// deployed function runs, in batches of at most MaxBatch. A failed batch is
// read again from its first record, as Lambda retries it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Streams is the part of the DynamoDB Streams client the poller uses.
type Streams interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// TableDescriber finds the table's stream.
type TableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Poller reads one table's stream.
type Poller struct {
	streams Streams
	agg     *Aggregator
	logger  *slog.Logger
	arn     string

	mu     sync.Mutex // one pass at a time
	shards map[string]*shard
}

type shard struct {
	iterator string // "" before the first read
	last     string // the last sequence number counted
	closed   bool
}

// New finds table's stream; the table must have one.
func NewPoller(ctx context.Context, db TableDescriber, streams Streams, table string, agg *Aggregator, logger *slog.Logger) (*Poller, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("stream poller: describe %q: %w", table, err)
	}
	if out.Table == nil || out.Table.LatestStreamArn == nil {
		return nil, fmt.Errorf("stream poller: table %q has no stream", table)
	}
	return &Poller{streams: streams, agg: agg, logger: logger, arn: *out.Table.LatestStreamArn, shards: map[string]*shard{}}, nil
}

// Run polls until ctx ends, resting interval when the stream has nothing new.
func (p *Poller) Run(ctx context.Context, interval time.Duration) {
	for {
		n, err := p.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			p.logger.Error("stream poller", "error", err.Error())
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Drain counts every record the stream holds now and returns how many it
// read. Tests call it before reading counters.
func (p *Poller) Drain(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for {
		n, err := p.pass(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// pass reads each open shard once.
func (p *Poller) pass(ctx context.Context) (int, error) {
	if err := p.discover(ctx); err != nil {
		return 0, err
	}
	total := 0
	for id, s := range p.shards {
		if s.closed {
			continue
		}
		n, err := p.read(ctx, id, s)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (p *Poller) discover(ctx context.Context) error {
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn)}
	for {
		out, err := p.streams.DescribeStream(ctx, in)
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		for _, sh := range out.StreamDescription.Shards {
			if _, ok := p.shards[aws.ToString(sh.ShardId)]; !ok {
				p.shards[aws.ToString(sh.ShardId)] = &shard{}
			}
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// read takes one page of a shard and counts it, in batches.
func (p *Poller) read(ctx context.Context, id string, s *shard) (int, error) {
	if s.iterator == "" {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.arn), ShardId: aws.String(id), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon}
		if s.last != "" {
			in.ShardIteratorType, in.SequenceNumber = streamtypes.ShardIteratorTypeAfterSequenceNumber, aws.String(s.last)
		}
		out, err := p.streams.GetShardIterator(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("shard iterator of %s: %w", id, err)
		}
		s.iterator = aws.ToString(out.ShardIterator)
	}
	out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(s.iterator), Limit: aws.Int32(1000)})
	var expired *streamtypes.ExpiredIteratorException
	if errors.As(err, &expired) {
		s.iterator = ""
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("records of %s: %w", id, err)
	}
	records := make([]Record, 0, len(out.Records))
	for _, r := range out.Records {
		records = append(records, RecordOf(r))
	}
	for start := 0; start < len(records); start += MaxBatch {
		batch := records[start:min(start+MaxBatch, len(records))]
		if _, err := p.agg.Apply(ctx, Batch{Shard: id, Records: batch}); err != nil {
			// Read again from the batch's first record next time.
			s.iterator = ""
			return start, err
		}
		s.last = batch[len(batch)-1].SequenceNumber
	}
	if out.NextShardIterator == nil {
		s.closed = true
	} else {
		s.iterator = *out.NextShardIterator
	}
	return len(records), nil
}

// RecordOf converts a record read from the Streams API.
func RecordOf(r streamtypes.Record) Record {
	out := Record{}
	if d := r.Dynamodb; d != nil {
		out.SequenceNumber = aws.ToString(d.SequenceNumber)
		out.Old, out.New = image(d.OldImage), image(d.NewImage)
		if d.ApproximateCreationDateTime != nil {
			out.At = d.ApproximateCreationDateTime.UTC()
		}
	}
	return out
}
