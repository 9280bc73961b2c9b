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
	"github.com/abtest/abtest/shared/domain/metric"
)

// A recount job lives in the experiment's recount partition: one job item
// per mode (JOB#write, JOB#dry) and one checkpoint item per scan segment
// (SEG#<mode>#nn), deleted when the job ends.
func recountPK(key string) string { return "EXP#" + key + "#RECOUNT" }

func recountMode(write bool) string {
	if write {
		return "write"
	}
	return "dry"
}

// recountTTL is how long a recount job's items are kept after it started:
// a job nobody finishes (its caller gave up) is deleted by the table's TTL
// then, and a later recount starts afresh. Jobs take minutes to hours.
const recountTTL = 30 * 24 * time.Hour

func recountExpiry(started time.Time) types.AttributeValue {
	return avN(started.Add(recountTTL).Unix())
}

// recountLease is how long a call holds a job beyond its own deadline; a
// call that died frees it after that.
const recountLease = 30 * time.Second

// recountJob is a job item.
type recountJob struct {
	Key    string
	Mode   string
	ID     string
	Write  bool
	Events []string
	// Metrics are the live metrics when the job started, whose unit values
	// the recount rebuilds from stored events; metrics and shapes are their
	// definitions and the shapes of every metric found on items (read by
	// each call: definitions.go).
	Metrics []string
	// Lookback and Covariates are the experiment's CUPED window and the
	// metrics it names when the job started: the recount rebuilds each
	// unit's covariate of those metrics over that window.
	Lookback   int
	Covariates []string
	metrics    []*metric.Metric
	shapes     *shapeCache
	Segments   int
	StartedAt  time.Time
	// Before holds each counter shard's version and as_of when the job
	// started: the swap is conditioned on them.
	Before map[string]shardMark
}

type shardMark struct {
	Version *int64 `json:"v,omitempty"` // nil: the shard had no version
	AsOf    string `json:"as_of,omitempty"`
}

func (j *recountJob) before() map[string]item {
	out := map[string]item{}
	for pk, m := range j.Before {
		it := item{}
		if m.Version != nil {
			it[shardVersion] = avN(*m.Version)
		}
		if m.AsOf != "" {
			it[attrAsOf] = avS(m.AsOf)
		}
		out[pk] = it
	}
	return out
}

// leaseRecount takes the experiment's job of this mode (creating it when
// there is none) for a call running until until.
func (s *Store) leaseRecount(ctx context.Context, key string, events []string, write bool, until time.Time) (*recountJob, error) {
	job, err := s.takeRecount(ctx, key, events, write, until)
	if err != nil {
		return nil, err
	}
	if err := s.loadMetrics(ctx, job); err != nil {
		return nil, errors.Join(err, s.releaseRecount(ctx, job))
	}
	return job, nil
}

// loadMetrics reads the definitions of the job's metrics.
func (s *Store) loadMetrics(ctx context.Context, job *recountJob) error {
	job.shapes = newShapeCache()
	defs, err := job.shapes.fill(ctx, s, job.Metrics)
	if err != nil {
		return fmt.Errorf("recount %q: %w", job.Key, err)
	}
	job.metrics = nil
	for _, k := range job.Metrics {
		if m := defs[k]; m != nil {
			job.metrics = append(job.metrics, m)
		}
	}
	return nil
}

func (s *Store) takeRecount(ctx context.Context, key string, events []string, write bool, until time.Time) (*recountJob, error) {
	mode := recountMode(write)
	now := s.now()
	expires := until
	if expires.IsZero() {
		expires = now.Add(time.Hour)
	}
	lease := avN(expires.Add(recountLease).UnixMilli())
	// Take an existing job whose lease is free.
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(recountPK(key), "JOB#"+mode),
		UpdateExpression:                    aws.String("SET lease_until = :lease"),
		ConditionExpression:                 aws.String("attribute_exists(#pk) AND lease_until < :now"),
		ExpressionAttributeNames:            map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":lease": lease, ":now": avN(now.UnixMilli())},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return decodeJob(key, out.Attributes)
	case errors.As(err, &ccf) && ccf.Item != nil:
		return nil, fmt.Errorf("recount %q: %w", key, ErrRecountBusy)
	case !errors.As(err, &ccf):
		return nil, fmt.Errorf("lease recount %q: %w", key, err)
	}
	// No job: start one from the counters as they are now.
	shards, err := s.readShards(ctx, key)
	if err != nil {
		return nil, err
	}
	id, err := newJobID()
	if err != nil {
		return nil, err
	}
	live, err := s.LiveMetrics(ctx)
	if err != nil {
		return nil, err
	}
	metrics := []string{}
	for _, m := range live {
		metrics = append(metrics, m.Key)
	}
	lookback, covariates := experiment.DefaultLookbackDays, []string{}
	switch e, err := s.GetExperiment(ctx, key); {
	case err == nil:
		lookback, covariates = e.Analysis.Lookback(), e.Metrics.All()
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	job := &recountJob{Key: key, Mode: mode, ID: id, Write: write, Events: events, Metrics: metrics, Lookback: lookback, Covariates: covariates,
		Segments: RecountSegments, StartedAt: now, Before: map[string]shardMark{}}
	for pk, it := range shards {
		m := shardMark{AsOf: getS(it, attrAsOf)}
		if _, ok := it[shardVersion]; ok {
			v := getN(it, shardVersion)
			m.Version = &v
		}
		job.Before[pk] = m
	}
	state, _ := json.Marshal(jobState{events, metrics, lookback, covariates, job.Before})
	it := keyOf(recountPK(key), "JOB#"+mode)
	it["job"] = avS(id)
	it["segments"] = avN(int64(job.Segments))
	it["started_at"] = avT(now)
	it["state"] = avS(string(state))
	it["lease_until"] = lease
	it[AttrExpiresAt] = recountExpiry(now)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if errors.As(err, &ccf) {
		return nil, fmt.Errorf("recount %q: %w", key, ErrRecountBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("start recount %q: %w", key, err)
	}
	return job, nil
}

// jobState is what a job item keeps of its job, as JSON.
type jobState struct {
	Events     []string             `json:"events"`
	Metrics    []string             `json:"metrics"`
	Lookback   int                  `json:"lookback,omitempty"`
	Covariates []string             `json:"covariates,omitempty"`
	Before     map[string]shardMark `json:"before"`
}

func decodeJob(key string, it item) (*recountJob, error) {
	var state jobState
	if err := json.Unmarshal([]byte(getS(it, "state")), &state); err != nil {
		return nil, fmt.Errorf("recount job %q: %w", key, err)
	}
	mode := getS(it, AttrSK)[len("JOB#"):]
	return &recountJob{
		Key: key, Mode: mode, ID: getS(it, "job"), Write: mode == "write", Events: state.Events, Metrics: state.Metrics,
		Lookback: state.Lookback, Covariates: state.Covariates, Segments: int(getN(it, "segments")), StartedAt: getT(it, "started_at"), Before: state.Before,
	}, nil
}

// releaseRecount frees the lease so the next call goes on at once.
func (s *Store) releaseRecount(ctx context.Context, job *recountJob) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(recountPK(job.Key), "JOB#"+job.Mode),
		UpdateExpression:          aws.String("SET lease_until = :zero"),
		ConditionExpression:       aws.String("job = :job"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": avN(0), ":job": avS(job.ID)},
	})
	if err != nil {
		return fmt.Errorf("release recount %q: %w", job.Key, err)
	}
	return nil
}

// deleteRecount removes a finished (or restarted) job and its checkpoints.
func (s *Store) deleteRecount(ctx context.Context, job *recountJob) error {
	keys := []item{keyOf(recountPK(job.Key), "JOB#"+job.Mode)}
	for i := 0; i < job.Segments; i++ {
		keys = append(keys, keyOf(recountPK(job.Key), segmentSK(job.Mode, i)))
	}
	if err := s.deleteAll(ctx, keys); err != nil {
		return fmt.Errorf("end recount %q: %w", job.Key, err)
	}
	return nil
}

func segmentSK(mode string, i int) string { return fmt.Sprintf("SEG#%s#%02d", mode, i) }

// recountSegment is one scan segment's checkpoint: where to go on, the
// unit in progress, and the partial counts by counter shard.
type recountSegment struct {
	Index   int                    `json:"-"`
	Pages   int64                  `json:"-"`
	Done    bool                   `json:"done"`
	Start   string                 `json:"start,omitempty"` // the scan's next ExclusiveStartKey, JSON
	Unit    *unitTally             `json:"unit,omitempty"`
	Units   int64                  `json:"units"`
	Scanned int64                  `json:"scanned"`
	Totals  [AggregateShards]tally `json:"totals"`
	Marked  [AggregateShards]tally `json:"marked"` // conversions of the marks this job wrote
	// Pending are marks decided on the last page, written right after its
	// checkpoint (and by the next call if this one stops in between).
	Pending []pendingMarks `json:"pending,omitempty"`
	// shapes are the metrics' shapes known when the page was read.
	shapes experiment.Shapes
}

type pendingMarks struct {
	PK        string    `json:"pk"` // the unit's partition
	Names     []string  `json:"names,omitempty"`
	ExposedAt time.Time `json:"exposed_at,omitzero"` // set: the first-exposure mark is missing
	// Values are the metric values the recount found, where the item holds
	// Old (absent: none): each set on condition that it still holds Old.
	Values map[string]experiment.Value `json:"values,omitempty"`
	Old    map[string]experiment.Value `json:"old,omitempty"`
	// Stored are the item's value attributes as stored (exact decimals,
	// which a float may not spell back), for the condition.
	Stored map[string]string `json:"stored,omitempty"`
}

// unitTally is what a recount knows of the unit it is reading.
type unitTally struct {
	PK             string    `json:"pk"`
	Assigned       bool      `json:"assigned,omitempty"`
	Variant        string    `json:"variant,omitempty"`
	AssignedAt     time.Time `json:"assigned_at,omitzero"`
	FirstExposedAt time.Time `json:"first_exposed_at,omitzero"` // the assignment's mark
	Marks          []string  `json:"marks,omitempty"`
	Exposed        bool      `json:"exposed,omitempty"` // an exposure item was seen
	ExposedAt      time.Time `json:"exposed_at,omitzero"`
	Converted      []string  `json:"converted,omitempty"`
	// Values are the item's metric values; Recounted those its stored
	// events give the job's metrics.
	Values    map[string]experiment.Value `json:"values,omitempty"`
	Recounted map[string]experiment.Value `json:"recounted,omitempty"`
	Stored    map[string]string           `json:"stored,omitempty"` // the value attributes as stored
}

// recount adds v to what the unit's stored events give metric k.
func (u *unitTally) recount(k string, v experiment.Value) {
	if u.Recounted == nil {
		u.Recounted = map[string]experiment.Value{}
	}
	u.Recounted[k] = u.Recounted[k].Plus(v)
}

// lookback is the job's CUPED window (a job started before it was kept
// has the default).
func (j *recountJob) lookback() int {
	if j.Lookback == 0 {
		return experiment.DefaultLookbackDays
	}
	return j.Lookback
}

// tally is counts in a form that survives JSON.
type tally struct {
	A map[string]int64            `json:"a,omitempty"`
	X map[string]int64            `json:"x,omitempty"`
	C map[string]map[string]int64 `json:"c,omitempty"`
	M map[string]int64            `json:"m,omitempty"`
	// S are the metrics' sums by variant and metric key.
	S map[string]map[string]experiment.Sums `json:"s,omitempty"`
}

// add adds g's counts.
func (t *tally) add(g experiment.Aggregates) {
	for v, n := range g.Assigned {
		if t.A == nil {
			t.A = map[string]int64{}
		}
		t.A[v] += n
	}
	for v, n := range g.Exposed {
		if t.X == nil {
			t.X = map[string]int64{}
		}
		t.X[v] += n
	}
	for v, m := range g.Converted {
		for e, n := range m {
			if t.C == nil {
				t.C = map[string]map[string]int64{}
			}
			if t.C[v] == nil {
				t.C[v] = map[string]int64{}
			}
			t.C[v][e] += n
		}
	}
	for e, n := range g.Marked {
		if t.M == nil {
			t.M = map[string]int64{}
		}
		t.M[e] += n
	}
	for v, m := range g.Sums {
		for k, x := range m {
			if t.S == nil {
				t.S = map[string]map[string]experiment.Sums{}
			}
			if t.S[v] == nil {
				t.S[v] = map[string]experiment.Sums{}
			}
			t.S[v][k] = t.S[v][k].Plus(x)
		}
	}
}

func (t tally) aggregates() experiment.Aggregates {
	g := experiment.NewAggregates()
	for v, n := range t.A {
		g.Assigned[v] = n
	}
	for v, n := range t.X {
		g.Exposed[v] = n
	}
	for v, m := range t.C {
		for e, n := range m {
			g.AddConverted(v, e, n)
		}
	}
	for e, n := range t.M {
		g.Marked[e] = n
	}
	for v, m := range t.S {
		for k, x := range m {
			g.AddSums(v, k, x)
		}
	}
	return g
}

// recountSegments reads the job's checkpoints (a segment without one
// starts at the beginning).
func (s *Store) recountSegments(ctx context.Context, job *recountJob) ([]*recountSegment, error) {
	segs := make([]*recountSegment, job.Segments)
	for i := range segs {
		segs[i] = &recountSegment{Index: i}
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :seg)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(recountPK(job.Key)), ":seg": avS("SEG#" + job.Mode + "#"),
		},
		ConsistentRead: aws.Bool(true),
	}
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("recount checkpoints of %q: %w", job.Key, err)
		}
		for _, it := range page.Items {
			if getS(it, "job") != job.ID {
				continue // left by an earlier job: start this segment afresh
			}
			var i int
			if _, err := fmt.Sscanf(getS(it, AttrSK), "SEG#"+job.Mode+"#%02d", &i); err != nil || i < 0 || i >= job.Segments {
				return nil, fmt.Errorf("recount checkpoint %q of %q", getS(it, AttrSK), job.Key)
			}
			seg := &recountSegment{Index: i, Pages: getN(it, "pages")}
			if err := json.Unmarshal([]byte(getS(it, "state")), seg); err != nil {
				return nil, fmt.Errorf("recount checkpoint of %q: %w", job.Key, err)
			}
			segs[i] = seg
		}
		if page.LastEvaluatedKey == nil {
			return segs, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// checkpointSegment writes a segment's state on condition that nobody else
// advanced it (its page count is the one this call read).
func (s *Store) checkpointSegment(ctx context.Context, job *recountJob, seg *recountSegment) error {
	state, err := json.Marshal(seg)
	if err != nil {
		return fmt.Errorf("recount checkpoint: %w", err)
	}
	it := keyOf(recountPK(job.Key), segmentSK(job.Mode, seg.Index))
	it["job"] = avS(job.ID)
	it["pages"] = avN(seg.Pages + 1)
	it["state"] = avS(string(state))
	it[AttrExpiresAt] = recountExpiry(job.StartedAt)
	put := &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR job <> :job OR pages = :pages"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":job": avS(job.ID), ":pages": avN(seg.Pages)},
	}
	if _, err := s.db.PutItem(ctx, put); err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return fmt.Errorf("recount checkpoint of %q: %w", job.Key, ErrRecountBusy)
		}
		return fmt.Errorf("recount checkpoint of %q: %w", job.Key, err)
	}
	seg.Pages++
	return nil
}

// A scan position is kept as the JSON of its key's string attributes.
func encodeStartKey(k map[string]types.AttributeValue) string {
	if k == nil {
		return ""
	}
	m := map[string]string{}
	for name, v := range k {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			m[name] = sv.Value
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeStartKey(s string) (map[string]types.AttributeValue, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("recount position: %w", err)
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = avS(v)
	}
	return out, nil
}
