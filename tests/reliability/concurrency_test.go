package reliability

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/domain/bucketing"
)

// TestConcurrentFirstAssignments sends 200 first assignments at once, spread
// over 20 users and 5 experiments (two racing calls per pair), through the
// gateway. Exactly one assignment item exists per (user, experiment), every
// answer for a pair is the same variant and assigned_at (the stored ones, and
// the variant GrowthBook bucketing picks), and each experiment's
// assigned_count sums to 20.
//
// The property is stickiness, not latency: DynamoDB Local runs transactions
// one at a time, so on a small CI machine a burst of 200 first assignments
// takes seconds (about 1 s per transaction at the median here, more when
// other test binaries share the machine). The service gets patient settings
// (10 s per attempt, 30 s per invocation) so that every call completes;
// TestDynamoDBOutage and TestDynamoDBUnresponsive cover the tight ones.
func TestConcurrentFirstAssignments(t *testing.T) {
	e := newEnv(t, envOptions{endpoint: sharedEndpoint(t), timeout: 10 * time.Second, attempts: 3, gatewayTimeout: 30 * time.Second})
	const users, experiments, perPair = 20, 5, 2
	for x := 0; x < experiments; x++ {
		e.createActive(fmt.Sprintf("conc-%d", x))
	}
	type pair struct{ user, exp string }
	var (
		mu      sync.Mutex
		answers = map[pair][]reply{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for r := 0; r < perPair; r++ {
		for u := 0; u < users; u++ {
			for x := 0; x < experiments; x++ {
				p := pair{fmt.Sprintf("user-%02d", u), fmt.Sprintf("conc-%d", x)}
				headers := e.asUser(p.user)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					rep := e.do("GET", "/v1/client/experiments/"+p.exp+"/assignment", headers, "")
					mu.Lock()
					answers[p] = append(answers[p], rep)
					mu.Unlock()
				}()
			}
		}
	}
	close(start)
	wg.Wait()

	type answer struct{ variant, assignedAt string }
	want := map[pair]answer{} // the one answer per pair
	for p, reps := range answers {
		for _, r := range reps {
			if r.err != nil || r.status != http.StatusOK {
				t.Errorf("%v: %v", p, r)
				continue
			}
			got := answer{r.str("variant"), r.str("assigned_at")}
			if prev, ok := want[p]; ok && prev != got {
				t.Errorf("%v answered differently: %+v and %+v", p, prev, got)
			}
			want[p] = got
			if idx, err := bucketing.Choose(p.exp, p.user, []float64{50, 50}, 1, nil); err != nil || []string{"control", "treatment"}[idx] != r.str("variant") {
				t.Errorf("%v: variant %s is not the bucketed one (index %d, %v)", p, r.str("variant"), idx, err)
			}
		}
	}
	if len(answers) != users*experiments {
		t.Fatalf("%d pairs answered, want %d", len(answers), users*experiments)
	}

	// Exactly one item per pair, equal to what every call answered.
	stored := map[string]map[string]int{} // experiment -> variant -> items
	for u := 0; u < users; u++ {
		user := fmt.Sprintf("user-%02d", u)
		items := queryPrefix(t, e.check, e.table, "USER#"+user, "ASG#")
		seen := map[string]int{}
		for _, it := range items {
			exp := attrS(it, "experiment")
			seen[exp]++
			if attrS(it, "sk") != "ASG#"+exp || attrS(it, "user_id") != user {
				t.Errorf("assignment item with inconsistent keys: %v", it)
			}
			w, ok := want[pair{user, exp}]
			if !ok {
				t.Errorf("%s/%s: stored assignment that no call answered", user, exp)
				continue
			}
			if attrS(it, "variant") != w.variant || !sameInstant(attrS(it, "assigned_at"), w.assignedAt) {
				t.Errorf("%s/%s: stored %s at %s, answered %+v", user, exp, attrS(it, "variant"), attrS(it, "assigned_at"), w)
			}
			if stored[exp] == nil {
				stored[exp] = map[string]int{}
			}
			stored[exp][attrS(it, "variant")]++
		}
		if len(items) != experiments {
			t.Errorf("%s has %d assignment items, want %d", user, len(items), experiments)
		}
		for exp, n := range seen {
			if n != 1 {
				t.Errorf("%s/%s: %d assignment items", user, exp, n)
			}
		}
	}

	// The counters: assigned_count sums to the users, per variant equal to
	// the items, and equal to a recount.
	for x := 0; x < experiments; x++ {
		exp := fmt.Sprintf("conc-%d", x)
		counts := e.assignedCounts(exp)
		total := 0
		for v, n := range counts {
			total += n
			if n != stored[exp][v] {
				t.Errorf("%s: assigned_count[%s] = %d, %d items", exp, v, n, stored[exp][v])
			}
		}
		if total != users {
			t.Errorf("%s: assigned_count sums to %d, want %d", exp, total, users)
		}
		if ok, r := e.recountMatches(exp); !ok {
			t.Errorf("%s: live counters differ from a recount: %s", exp, r.raw)
		}
	}
}
