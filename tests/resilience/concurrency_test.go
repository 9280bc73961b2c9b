package resilience

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// TestConcurrentFirstAssignments: 200 concurrent first assignments spread
// over 20 users and 5 experiments write one item per (user, experiment),
// every answer for a pair is the same, and the counters are exact.
func TestConcurrentFirstAssignments(t *testing.T) {
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	// Correctness under concurrency, not latency: on a shared 2-core
	// machine running other test packages, DynamoDB Local can take seconds
	// to drain 200 transactions, so calls and requests get generous
	// timeouts (the production 2 s per attempt is for real DynamoDB).
	s := newSvc(t, dltest.Endpoint(), table, 20*time.Second, 0, 60*time.Second)
	const users, experiments = 20, 5
	perPair := soak(2, 20)
	for e := 0; e < experiments; e++ {
		s.createActive(fmt.Sprintf("exp-%d", e))
	}
	type pair struct{ user, exp int }
	var (
		mu      sync.Mutex
		answers = map[pair]map[string]bool{}
		wg      sync.WaitGroup
	)
	for r := 0; r < perPair; r++ {
		for u := 0; u < users; u++ {
			for e := 0; e < experiments; e++ {
				wg.Add(1)
				go func(p pair) {
					defer wg.Done()
					st, body, err := s.do("GET", fmt.Sprintf("/v1/client/experiments/exp-%d/assignment", p.exp), s.asUser(fmt.Sprintf("user-%d", p.user)), "")
					if err != nil || st != 200 {
						t.Errorf("%v: %d %v %v", p, st, body, err)
						return
					}
					mu.Lock()
					if answers[p] == nil {
						answers[p] = map[string]bool{}
					}
					answers[p][fmt.Sprint(body["variant"], "@", body["assigned_at"])] = true
					mu.Unlock()
				}(pair{u, e})
			}
		}
	}
	wg.Wait()
	if len(answers) != users*experiments {
		t.Fatalf("%d pairs answered, want %d", len(answers), users*experiments)
	}
	for p, seen := range answers {
		if len(seen) != 1 {
			t.Errorf("%v got different answers: %v", p, seen)
		}
	}
	ctx := context.Background()
	for u := 0; u < users; u++ {
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(table),
			KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :asg)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("USER#user-%d", u)}, ":asg": &types.AttributeValueMemberS{Value: "ASG#"},
			},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) != experiments {
			t.Errorf("user-%d has %d assignment items, want %d", u, len(out.Items), experiments)
		}
	}
	for e := 0; e < experiments; e++ {
		_, body, err := s.do("GET", fmt.Sprintf("/v1/admin/experiments/exp-%d", e), s.asAdmin(), "")
		if err != nil {
			t.Fatal(err)
		}
		var total float64
		for _, v := range body["variants"].([]any) {
			total += v.(map[string]any)["assigned_count"].(float64)
		}
		if total != users {
			t.Errorf("exp-%d: assigned_count sums to %v, want %d", e, total, users)
		}
	}
}
