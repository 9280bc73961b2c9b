package reliability

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestErasureDuringWorkload erases units while they and everyone else keep
// assigning, exposing and converting, through the gateway as a client would.
// Afterwards the counters (kept by the aggregator from the stream, including
// the erasures' REMOVEs) equal a recount of what is stored, an erased unit
// that stopped writing has no item left, a repeated erasure deletes nothing,
// and no audit entry holds a unit's id.
func TestErasureDuringWorkload(t *testing.T) {
	e := newEnv(t, envOptions{endpoint: sharedEndpoint(t), timeout: 10 * time.Second, attempts: 3, gatewayTimeout: 30 * time.Second})
	exps := []string{"erase-0", "erase-1"}
	for _, x := range exps {
		e.createActive(x)
	}
	const users, rounds = 24, 10
	var wg sync.WaitGroup
	started := make([]chan struct{}, users)
	script := func(user string, started chan struct{}) {
		defer wg.Done()
		as := e.asUser(user)
		for r := 0; r < rounds; r++ {
			if r == 1 {
				close(started) // the unit has items; erasing it now races its traffic
			}
			for _, x := range exps {
				// Racing an erasure of this very unit, any of these may find
				// its assignment gone; what matters is what is stored after.
				e.do("GET", "/v1/client/experiments/"+x+"/assignment", as, "")
				e.do("POST", "/v1/client/experiments/"+x+"/exposure", as, "")
			}
			e.do("POST", "/v1/client/events", as, fmt.Sprintf(`{"events":[{"name":"purchase","id":"%s-p%d"},{"name":"signup"}]}`, user, r))
		}
	}
	erase := func(user string) reply {
		return e.do("DELETE", "/v1/admin/units/"+user, e.asAdmin(), "")
	}
	for i := 0; i < users; i++ {
		wg.Add(1)
		started[i] = make(chan struct{})
		go script(fmt.Sprintf("erase-user-%02d", i), started[i])
	}
	// Erase a third of the units while they and everyone else are running.
	var erased []string
	var erasers sync.WaitGroup
	for i := 0; i < users; i += 3 {
		user := fmt.Sprintf("erase-user-%02d", i)
		erased = append(erased, user)
		erasers.Add(1)
		go func() {
			defer erasers.Done()
			<-started[i]
			r := erase(user)
			if r.err != nil || (r.status != http.StatusOK && r.code() != "UNIT_BUSY") {
				t.Errorf("erase %s: %v", user, r)
			}
			t.Logf("erased %s mid-workload: %d %s %v", user, r.status, r.code(), r.body["erased"])
		}()
	}
	erasers.Wait()
	wg.Wait()

	// After the workload: erase the same units again (they may have come
	// back while running), then once more, which must delete nothing.
	for _, user := range erased {
		if r := erase(user); r.err != nil || r.status != http.StatusOK {
			t.Fatalf("erase %s after the workload: %v", user, r)
		}
		r := erase(user)
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("erase %s again: %v", user, r)
		}
		if n := r.body["erased"].(map[string]any); n["assignments"] != 0.0 || n["exposures"] != 0.0 || n["events"] != 0.0 {
			t.Errorf("a repeated erasure of %s deleted %v", user, n)
		}
	}
	for _, x := range exps {
		if ok, r := e.recountMatches(x); !ok {
			t.Errorf("%s: counters differ from a recount after erasures: %v", x, r)
		}
	}

	items := scanAll(t, e.check, e.table)
	audits := 0
	for _, it := range items {
		pk := attrS(it, "pk")
		for _, user := range erased {
			if pk == "USER#"+user {
				t.Errorf("erased unit %s still has %s", user, attrS(it, "sk"))
			}
		}
		if pk != "AUDIT#ERASURE" {
			continue
		}
		audits++
		for name, v := range it {
			if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, "erase-user-") {
				t.Errorf("audit entry keeps a unit id in %s: %q", name, s.Value)
			}
		}
		if attrS(it, "by") == "" || attrS(it, "at") == "" {
			t.Errorf("audit entry without who or when: %v", it)
		}
	}
	if audits < 2*len(erased) {
		t.Errorf("%d audit entries, want at least %d", audits, 2*len(erased))
	}
	// The counts moved: erased units are no longer assigned.
	for _, x := range exps {
		total := 0
		for _, n := range e.assignedCounts(x) {
			total += n
		}
		if total > users-len(erased) {
			t.Errorf("%s: %d assigned, but %d of %d units were erased", x, total, len(erased), users)
		}
	}
}
