package reliability

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/abtest/abtest/shared/data/store"
)

// holdAssignment delays the conditional put that writes one user's first
// assignment until released, so other requests can run while that
// assignment is being written.
type holdAssignment struct {
	store.DynamoDB
	pk, sk   string
	held     chan struct{} // closed when the transaction is held
	release  chan struct{}
	holdOnce sync.Once
}

func (h *holdAssignment) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if attrS(in.Item, "pk") == h.pk && attrS(in.Item, "sk") == h.sk {
		hold := false
		h.holdOnce.Do(func() { hold = true })
		if hold {
			close(h.held)
			select {
			case <-h.release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return h.DynamoDB.PutItem(ctx, in, o...)
}

// TestEventWhileFirstAssignmentIsWritten: an event that reaches the service
// while the user's first assignment is being written (after its assigned_at
// was taken, before its put landed) is stored once; the user was
// not yet assigned when it was recorded, so it is no conversion (README,
// "When an event is a conversion"), and the live counters and a recount
// agree on that. (Before commit 2a58626 the recount counted it and the live
// counters did not.)
func TestEventWhileFirstAssignmentIsWritten(t *testing.T) {
	h := &holdAssignment{pk: "USER#racer", sk: "ASG#race", held: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, envOptions{endpoint: sharedEndpoint(t), gatewayTimeout: 10 * time.Second,
		wrap: func(db store.DynamoDB) store.DynamoDB { h.DynamoDB = db; return h }})
	e.createActive("race")
	as := e.asUser("racer")

	assigned := make(chan reply, 1)
	go func() { assigned <- e.do("GET", "/v1/client/experiments/race/assignment", as, "") }()
	select {
	case <-h.held:
	case r := <-assigned:
		t.Fatalf("the assignment was not held: %v", r)
	case <-time.After(8 * time.Second):
		t.Fatal("the assignment write never came")
	}
	ev := e.do("POST", "/v1/client/events", as, `{"events":[{"name":"purchase","id":"race-1"}]}`)
	close(h.release)
	a := <-assigned
	if a.status != http.StatusOK {
		t.Fatalf("assignment: %v", a)
	}
	if ev.status != http.StatusAccepted || ev.body["accepted"] != 1.0 {
		t.Fatalf("event: %v", ev)
	}
	if x := e.do("POST", "/v1/client/experiments/race/exposure", as, ""); x.status != http.StatusCreated {
		t.Fatalf("exposure: %v", x)
	}
	if n := len(queryPrefix(t, e.check, e.table, "USER#racer", "EVT#race-1")); n != 1 {
		t.Errorf("the event is stored %d times", n)
	}
	e.drain()
	res := e.do("GET", "/v1/admin/experiments/race/results?event=purchase", e.asAdmin(), "")
	if res.status != http.StatusOK {
		t.Fatalf("results: %v", res)
	}
	for _, row := range res.body["variants"].([]any) {
		m := row.(map[string]any)
		if m["variant"] == a.str("variant") && (m["exposed_count"] != 1.0 || m["converted_count"] != 0.0) {
			t.Errorf("results row %v: want exposed 1, converted 0", m)
		}
	}
	if ok, rc := e.recountMatches("race"); !ok {
		t.Errorf("live counters differ from a recount: %s", rc.raw)
	}
}
