// Package usecase_test calls every use case directly, with no HTTP in
// between, against a real DynamoDB Local: the calls an MCP tool, the CLI or
// any other edge makes.
package usecase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/events"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/exposure"
	"github.com/abtest/abtest/shared/usecase/keys"
	"github.com/abtest/abtest/shared/usecase/results"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

type services struct {
	table string
	st    *store.Store
	exps  *experiments.Service
	asg   *assignment.Service
	expo  *exposure.Service
	evs   *events.Service
	res   *results.Service
	keys  *keys.Service
}

// newServices wires every use case on a fresh table. Definitions are read
// from the table each time (no snapshot), so the tests see every change at
// once; shared/data/snapshot tests the bounded age.
func newServices(t *testing.T) services {
	st, _, table := storetest.New(t)
	defs := snapshot.New(st, 0)
	return services{
		table: table,
		st:    st,
		exps:  experiments.New(defs, st, time.Now),
		asg:   assignment.New(defs, st),
		expo:  exposure.New(assignment.New(defs, st), st),
		evs:   events.New(defs, st, time.Now),
		res:   results.New(defs, st, time.Now),
		keys:  keys.New(st, time.Now),
	}
}

// wantCode fails unless err is a fault with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if f, ok := fault.As(err); !ok || f.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func variants() []experiment.Variant {
	return []experiment.Variant{
		{Key: "control", Weight: 1, Payload: json.RawMessage(`{"color":"blue"}`)},
		{Key: "treatment", Weight: 1},
	}
}

func TestExperimentLifecycleWithoutHTTP(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)

	_, err := s.exps.Create(ctx, "admin-1", experiments.NewInput{Key: "Bad Key", Name: "", Variants: variants()[:1]})
	f, _ := fault.As(err)
	if f == nil || f.Code != fault.CodeValidationFailed || len(f.Details["fields"].(map[string]string)) != 3 {
		t.Fatalf("invalid definition: %v %+v", err, f)
	}
	e, err := s.exps.Create(ctx, "admin-1", experiments.NewInput{Key: "checkout", Name: "Checkout", Variants: variants(), Events: []string{"purchase"}})
	if err != nil || e.Status != experiment.Draft || e.Version != 1 || e.CreatedBy != "admin-1" {
		t.Fatalf("create: %+v %v", e, err)
	}
	_, err = s.exps.Create(ctx, "admin-1", experiments.NewInput{Key: "checkout", Name: "Again", Variants: variants()})
	wantCode(t, err, experiment.CodeExists)

	// A draft enrols no one.
	_, err = s.asg.Assign(ctx, "checkout", assignment.Request{Identity: experiment.Identity{UserID: "alice"}, Enroll: true})
	wantCode(t, err, experiment.CodeInactive)

	if _, err := s.exps.Transition(ctx, "admin-1", "checkout", experiment.Start); err != nil {
		t.Fatal(err)
	}
	_, err = s.exps.Transition(ctx, "admin-1", "checkout", experiment.Resume)
	wantCode(t, err, experiment.CodeInvalidTransition)

	first, err := s.asg.Assign(ctx, "checkout", assignment.Request{Identity: experiment.Identity{UserID: "alice"}, Enroll: true})
	if err != nil || !first.Created {
		t.Fatalf("first assignment: %+v %v", first, err)
	}
	again, err := s.asg.Assign(ctx, "checkout", assignment.Request{Identity: experiment.Identity{UserID: "alice"}, Enroll: true})
	if err != nil || again.Created || again.Variant != first.Variant || !again.AssignedAt.Equal(first.AssignedAt) {
		t.Fatalf("repeat assignment: %+v %v, first %+v", again, err, first)
	}

	_, _, err = s.expo.Expose(ctx, experiment.Identity{UserID: "bob"}, "checkout", "", "")
	wantCode(t, err, exposure.CodeAssignmentRequired)
	_, _, err = s.expo.Expose(ctx, experiment.Identity{UserID: "alice"}, "checkout", "nope", "")
	wantCode(t, err, exposure.CodeInvalidVariant)
	_, _, err = s.expo.Expose(ctx, experiment.Identity{UserID: "alice"}, "checkout", "", "a\u202eb")
	wantCode(t, err, fault.CodeValidationFailed)
	x, created, err := s.expo.Expose(ctx, experiment.Identity{UserID: "alice"}, "checkout", "", "view-1")
	if err != nil || !created || x.ID != "view-1" || x.Variant != first.Variant || x.AssignedVariant != first.Variant {
		t.Fatalf("exposure: %+v %v %v", x, created, err)
	}
	// A retried exposure (its answer was lost) is stored once.
	for _, shown := range []string{"", "control"} {
		again, created, err := s.expo.Expose(ctx, experiment.Identity{UserID: "alice"}, "checkout", shown, "view-1")
		if err != nil || created || *again != *x {
			t.Fatalf("retried exposure: %+v %v %v, want the stored %+v", again, created, err, x)
		}
	}
	if _, created, err := s.expo.Expose(ctx, experiment.Identity{UserID: "alice"}, "checkout", "", ""); err != nil || !created {
		t.Fatalf("exposure without id: %v %v", created, err)
	}

	id := "order-1"
	batch, err := s.evs.Record(ctx, experiment.Identity{UserID: "alice"}, []events.Input{{Name: "purchase", ID: &id}, {Name: "bad name"}})
	if err != nil || batch.Accepted != 1 || batch.Rejected != 1 || batch.Results[1].Error.Code != events.CodeInvalid {
		t.Fatalf("events: %+v %v", batch, err)
	}
	batch, err = s.evs.Record(ctx, experiment.Identity{UserID: "alice"}, []events.Input{{Name: "purchase", ID: &id}})
	if err != nil || batch.Duplicates != 1 {
		t.Fatalf("retried event: %+v %v", batch, err)
	}
	_, err = s.evs.Record(ctx, experiment.Identity{UserID: "alice"}, nil)
	wantCode(t, err, fault.CodeValidationFailed)

	storetest.Drain(t, s.table) // counts follow from the change stream
	rep, err := s.res.Results(ctx, "checkout", "purchase")
	if err != nil {
		t.Fatal(err)
	}
	var row results.Variant
	for _, v := range rep.Variants {
		if v.Variant == first.Variant {
			row = v
		}
	}
	if row.AssignedCount != 1 || row.ExposedCount != 1 || row.ConvertedCount != 1 {
		t.Fatalf("results: %+v", rep)
	}
	_, err = s.res.Results(ctx, "checkout", "")
	wantCode(t, err, results.CodeEventRequired)
	rc, err := s.res.Recount(ctx, "checkout", true)
	if err != nil || !rc.Matched || rc.Written {
		t.Fatalf("recount: %+v %v", rc, err)
	}

	// Re-weighting with a stale version is refused with the current one.
	zero, one := 0.0, 1.0
	reweight := []experiments.VariantPatch{{Key: "control", Weight: &zero}, {Key: "treatment", Weight: &one}}
	_, err = s.exps.Update(ctx, "admin-2", "checkout", experiments.Patch{Version: 1, Variants: reweight})
	wantCode(t, err, experiment.CodeVersionConflict)
	cur, _, err := s.exps.Get(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.exps.Update(ctx, "admin-2", "checkout", experiments.Patch{Version: cur.Version, Variants: reweight})
	if err != nil || up.Version != cur.Version+1 || up.UpdatedBy != "admin-2" {
		t.Fatalf("update: %+v %v", up, err)
	}
	// Payloads the patch does not mention are kept.
	if v, _ := up.Variant("control"); v.Weight != 0 || string(v.Payload) != `{"color":"blue"}` {
		t.Fatalf("re-weighting changed the payload: %+v", v)
	}
	_, err = s.exps.Update(ctx, "admin-2", "checkout", experiments.Patch{Version: up.Version, Variants: reweight[1:]})
	wantCode(t, err, fault.CodeValidationFailed)
	_, err = s.exps.Update(ctx, "admin-2", "checkout", experiments.Patch{Version: up.Version, Variants: append(reweight, experiments.VariantPatch{Key: "new"})})
	wantCode(t, err, fault.CodeValidationFailed)
	if again, err := s.asg.Assign(ctx, "checkout", assignment.Request{Identity: experiment.Identity{UserID: "alice"}, Enroll: true}); err != nil || again.Variant != first.Variant {
		t.Fatalf("assignment flipped after re-weighting: %+v %v", again, err)
	}

	hist, err := s.exps.History(ctx, "checkout", 10, "")
	if err != nil || len(hist.Items) != 3 || hist.Items[0].By != "admin-2" || hist.Items[2].Action != "create" {
		t.Fatalf("history: %+v %v", hist, err)
	}
	_, err = s.exps.History(ctx, "checkout", 10, "not-a-cursor")
	wantCode(t, err, fault.CodeInvalidCursor)

	// Archived is not found for every use case.
	if err := s.exps.Archive(ctx, "admin-1", "checkout"); err != nil {
		t.Fatal(err)
	}
	_, err = s.asg.Assign(ctx, "checkout", assignment.Request{Identity: experiment.Identity{UserID: "alice"}, Enroll: true})
	wantCode(t, err, experiment.CodeNotFound)
	_, _, err = s.expo.Expose(ctx, experiment.Identity{UserID: "alice"}, "checkout", "", "")
	wantCode(t, err, experiment.CodeNotFound)
	_, err = s.res.Results(ctx, "checkout", "purchase")
	wantCode(t, err, experiment.CodeNotFound)
	_, _, err = s.exps.Get(ctx, "checkout")
	wantCode(t, err, experiment.CodeNotFound)
	_, err = s.asg.Assign(ctx, "Not A Key", assignment.Request{Identity: experiment.Identity{UserID: "alice"}, Enroll: true})
	wantCode(t, err, fault.CodeInvalidKey)
}

func TestKeysWithoutHTTP(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	_, _, err := s.keys.Issue(ctx, "admin-1", "", "root")
	f, _ := fault.As(err)
	if f == nil || f.Code != fault.CodeValidationFailed || len(f.Details["fields"].(map[string]string)) != 2 {
		t.Fatalf("bad key request: %v", err)
	}
	plain, k, err := s.keys.Issue(ctx, "admin-1", "ci", apikey.RoleClient)
	if err != nil || k.CreatedBy != "admin-1" || k.Role != "client" {
		t.Fatalf("issue: %+v %v", k, err)
	}
	if id, ok := apikey.ParseKeyID(plain); !ok || id != k.ID || !apikey.Matches(plain, k.Hash) {
		t.Fatalf("issued key %q does not match %+v", plain, k)
	}
	page, err := s.keys.List(ctx, 10, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].Hash != k.Hash {
		t.Fatalf("list: %+v %v", page, err)
	}
	if err := s.keys.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.keys.Revoke(ctx, "aaaaaaaaaaaaaaaa"), keys.CodeKeyNotFound)
	wantCode(t, s.keys.Revoke(ctx, "../etc"), keys.CodeKeyNotFound)
}

// TestUndeclaredEventNamesCannotGrowItems: a unit sending tens of thousands
// of distinct event names stores its events but counts only the declared
// ones, so no shared counter item and no assignment item grows with what
// clients send, and other units keep converting.
func TestUndeclaredEventNamesCannotGrowItems(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	defs := snapshot.New(st, snapshot.DefaultMaxAge)
	exps := experiments.New(defs, st, time.Now)
	asg := assignment.New(defs, st)
	expo := exposure.New(asg, st)
	evs := events.New(defs, st, time.Now)
	if _, err := exps.Create(ctx, "admin", experiments.NewInput{Key: "poison", Name: "P", Variants: variants(), Events: []string{"purchase"}, Status: experiment.Active}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"attacker", "victim"} {
		if _, err := asg.Assign(ctx, "poison", assignment.Request{Identity: experiment.Identity{UserID: u}, Enroll: true}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := expo.Expose(ctx, experiment.Identity{UserID: u}, "poison", "", ""); err != nil {
			t.Fatal(err)
		}
	}

	const batches, perBatch = 200, events.MaxBatch // 20,000 distinct names
	errs := make(chan error, batches)
	sem := make(chan struct{}, 8)
	for b := 0; b < batches; b++ {
		sem <- struct{}{}
		go func(b int) {
			defer func() { <-sem }()
			in := make([]events.Input, perBatch)
			for i := range in {
				in[i].Name = fmt.Sprintf("n%05d-%s", b*perBatch+i, strings.Repeat("x", 90))
			}
			out, err := evs.Record(ctx, experiment.Identity{UserID: "attacker"}, in)
			if err == nil && out.Accepted != perBatch {
				err = fmt.Errorf("batch %d: %+v", b, out)
			}
			errs <- err
		}(b)
	}
	for b := 0; b < batches; b++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The victim still converts, and only declared names are counted.
	if out, err := evs.Record(ctx, experiment.Identity{UserID: "victim"}, []events.Input{{Name: "purchase"}}); err != nil || out.Accepted != 1 {
		t.Fatalf("victim: %+v %v", out, err)
	}
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "poison")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range agg.Converted {
		if len(m) > 1 {
			t.Fatalf("counters for undeclared names: %v", agg.Converted)
		}
	}
	if n := agg.Converted["control"]["purchase"] + agg.Converted["treatment"]["purchase"]; n != 1 {
		t.Fatalf("purchase conversions %d, want 1 (the victim)", n)
	}
	// Every assignment and counter item stays small (DynamoDB's limit is
	// 400 KB; before, the attacker's items grew to about 350 KB).
	var start map[string]types.AttributeValue
	for {
		page, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			sk := it["sk"].(*types.AttributeValueMemberS).Value
			if sk == "EVT" || strings.HasPrefix(sk, "EVT#") {
				continue
			}
			if size := itemSize(it); size > 4<<10 {
				t.Errorf("item %v/%s is %d bytes", it["pk"], sk, size)
			}
		}
		if start = page.LastEvaluatedKey; start == nil {
			break
		}
	}
}

// itemSize approximates DynamoDB's item size: names plus values.
func itemSize(it map[string]types.AttributeValue) int {
	n := 0
	for name, v := range it {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)
		case *types.AttributeValueMemberSS:
			for _, s := range v.Value {
				n += len(s)
			}
		case *types.AttributeValueMemberL:
			n += 64 * len(v.Value)
		default:
			n += 16
		}
	}
	return n
}
