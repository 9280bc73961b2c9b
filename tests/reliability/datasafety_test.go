package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// userRecord is what the service acknowledged for one user, in the order
// the user's own requests completed.
type userRecord struct {
	assigned  map[string]answered        // exp -> the 200 answer
	exposed   map[string]int             // exp -> exposures answered 201
	exposures map[string]exposure        // exposure id -> the 201 answer
	events    map[string]acceptedEvent   // id -> the accepted event
	sentAfter map[string]map[string]bool // event id -> experiments assigned before it was sent
}

type acceptedEvent struct {
	name, props string
	old         bool // explicit timestamp before every assignment
}

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestDataSafetyMixedWorkload drives 24 users through a mixed workload with
// no faults — assignments to 3 experiments, exposures (some of another
// variant than assigned, some concurrent with events), event batches with
// retried ids, past timestamps, rejected and id-less events — then reads the
// whole table. Exactly what was acknowledged is stored, once: every exposure
// answered 201 (carrying the user's assigned variant) and every accepted
// event, no more; retried ids changed nothing; every item has a documented
// key shape and time format; the assignment items' exposure and conversion
// marks and the results' counts equal what the test's own record implies,
// and a recount matches the live counters.
func TestDataSafetyMixedWorkload(t *testing.T) {
	e := newEnv(t, envOptions{endpoint: sharedEndpoint(t), timeout: 10 * time.Second, attempts: 3, gatewayTimeout: 30 * time.Second})
	exps := []string{"safe-0", "safe-1", "safe-2"}
	for _, x := range exps {
		e.createActive(x)
	}
	const users = 24
	records := map[string]*userRecord{}
	var wg sync.WaitGroup
	for i := 0; i < users; i++ {
		user := fmt.Sprintf("safe-user-%02d", i)
		rec := &userRecord{
			assigned: map[string]answered{}, exposed: map[string]int{}, exposures: map[string]exposure{},
			events: map[string]acceptedEvent{}, sentAfter: map[string]map[string]bool{},
		}
		records[user] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			userScript(t, e, user, i, exps, rec)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// What the record implies.
	type vkey struct{ exp, variant string }
	wantAssigned, wantExposed := map[vkey]int{}, map[vkey]int{}
	wantConverted := map[vkey]map[string]int{}
	wantMarks := map[string][]string{} // "user/exp" -> conversion names
	for user, rec := range records {
		for exp, a := range rec.assigned {
			k := vkey{exp, a.variant}
			wantAssigned[k]++
			var names []string
			for id, ev := range rec.events {
				if rec.sentAfter[id][exp] && !ev.old && !slices.Contains(names, ev.name) {
					names = append(names, ev.name)
				}
			}
			sort.Strings(names)
			wantMarks[user+"/"+exp] = names
			if rec.exposed[exp] > 0 {
				wantExposed[k]++
				if wantConverted[k] == nil {
					wantConverted[k] = map[string]int{}
				}
				for _, n := range names {
					wantConverted[k][n]++
				}
			}
		}
	}

	var nExposures, nEvents, nConverted int
	for _, rec := range records {
		nExposures += len(rec.exposures)
		nEvents += len(rec.events)
	}
	for _, m := range wantConverted {
		for _, n := range m {
			nConverted += n
		}
	}
	t.Logf("%d users: %d exposures and %d events acknowledged, %d conversions expected", users, nExposures, nEvents, nConverted)

	// The table holds exactly what was acknowledged.
	items := scanAll(t, e.check, e.table)
	exposuresSeen, eventsSeen := map[string]int{}, map[string]int{}
	assignmentsSeen := map[string]item{}
	for _, it := range items {
		pk, sk := attrS(it, "pk"), attrS(it, "sk")
		if !documentedKey(pk, sk) {
			t.Errorf("undocumented item %s / %s", pk, sk)
			continue
		}
		user, isUser := strings.CutPrefix(pk, "USER#")
		if !isUser {
			continue
		}
		rec, ok := records[user]
		if !ok {
			t.Errorf("item of an unknown user: %s / %s", pk, sk)
			continue
		}
		if attrS(it, "user_id") != user {
			t.Errorf("%s / %s: user_id %q", pk, sk, attrS(it, "user_id"))
		}
		switch {
		case strings.HasPrefix(sk, "ASG#"):
			exp := sk[len("ASG#"):]
			assignmentsSeen[user+"/"+exp] = it
			a, ok := rec.assigned[exp]
			switch {
			case !ok:
				t.Errorf("%s/%s: an assignment no call answered", user, exp)
			case attrS(it, "experiment") != exp || attrS(it, "variant") != a.variant || !sameInstant(attrS(it, "assigned_at"), a.assignedAt) ||
				attrS(it, "gsi1pk") != "ASG#"+exp || attrS(it, "gsi1sk") != user:
				t.Errorf("%s/%s: answered %+v, stored %v", user, exp, a, it)
			}
			checkTimes(t, it, "assigned_at", "first_exposed_at")
			if exposed := attrS(it, "first_exposed_at") != ""; exposed != (rec.exposed[exp] > 0) {
				t.Errorf("%s/%s: first_exposed_at %q, %d exposures acknowledged", user, exp, attrS(it, "first_exposed_at"), rec.exposed[exp])
			}
			marks := attrSS(it, "conversions")
			sort.Strings(marks)
			if want := wantMarks[user+"/"+exp]; !(len(marks) == 0 && len(want) == 0) && !reflect.DeepEqual(marks, want) {
				t.Errorf("%s/%s: conversions %v, want %v", user, exp, marks, want)
			}
		case strings.HasPrefix(sk, "EXPO#"):
			id := attrS(it, "id")
			exposuresSeen[id]++
			x, ok := rec.exposures[id]
			if !ok || attrS(it, "experiment") != x.exp || sk != "EXPO#"+x.exp+"#"+id || !uuidV7.MatchString(id) {
				t.Errorf("exposure item no call acknowledged, or with inconsistent keys: %v", it)
				continue
			}
			if attrS(it, "variant") != x.shown || !sameInstant(attrS(it, "exposed_at"), x.exposedAt) {
				t.Errorf("exposure %s: answered %+v, stored %v", id, x, it)
			}
			// The assigned variant is the user's assignment, whatever was shown.
			if attrS(it, "assigned_variant") != rec.assigned[x.exp].variant {
				t.Errorf("exposure %s: assigned_variant %s, the user's assignment is %s", id, attrS(it, "assigned_variant"), rec.assigned[x.exp].variant)
			}
			checkTimes(t, it, "exposed_at")
		case strings.HasPrefix(sk, "EVT#"):
			id := attrS(it, "id")
			eventsSeen[user+"/"+id]++
			ev, ok := rec.events[id]
			if !ok || sk != "EVT#"+id {
				t.Errorf("event item no call accepted, or with inconsistent keys: %v", it)
				continue
			}
			var sent, stored any
			_ = json.Unmarshal([]byte(ev.props), &sent)
			_ = json.Unmarshal([]byte(attrS(it, "properties")), &stored)
			if attrS(it, "name") != ev.name || !reflect.DeepEqual(sent, stored) {
				t.Errorf("event %s/%s: accepted %+v, stored %v", user, id, ev, it)
			}
			checkTimes(t, it, "timestamp", "received_at")
		}
	}
	for user, rec := range records {
		for id, x := range rec.exposures {
			if exposuresSeen[id] != 1 {
				t.Errorf("acknowledged exposure %s of %s/%s is stored %d times", id, user, x.exp, exposuresSeen[id])
			}
		}
		for id := range rec.events {
			if eventsSeen[user+"/"+id] != 1 {
				t.Errorf("accepted event %s/%s is stored %d times", user, id, eventsSeen[user+"/"+id])
			}
		}
		for exp := range rec.assigned {
			if _, ok := assignmentsSeen[user+"/"+exp]; !ok {
				t.Errorf("%s/%s: answered assignment not stored", user, exp)
			}
		}
	}

	// The results and the recount agree with the record.
	e.drain()
	for _, exp := range exps {
		for _, event := range []string{"purchase", "checkout", "signup", "refund"} {
			r := e.do("GET", "/v1/admin/experiments/"+exp+"/results?event="+event, e.asAdmin(), "")
			if r.err != nil || r.status != http.StatusOK {
				t.Fatalf("results: %v", r)
			}
			for _, row := range r.body["variants"].([]any) {
				m := row.(map[string]any)
				k := vkey{exp, m["variant"].(string)}
				got := [3]int{int(m["assigned_count"].(float64)), int(m["exposed_count"].(float64)), int(m["converted_count"].(float64))}
				want := [3]int{wantAssigned[k], wantExposed[k], wantConverted[k][event]}
				if got != want {
					t.Errorf("%s %s %s: assigned/exposed/converted %v, the record says %v", exp, k.variant, event, got, want)
				}
			}
		}
		if ok, r := e.recountMatches(exp); !ok {
			t.Errorf("%s: live counters differ from a recount: %s", exp, r.raw)
		}
	}
}

// checkTimes checks stored times have the documented fixed-width format.
func checkTimes(t *testing.T, it item, names ...string) {
	t.Helper()
	for _, n := range names {
		if v := attrS(it, n); v != "" && !storedTime.MatchString(v) {
			t.Errorf("%s / %s: %s %q is not the documented fixed-width UTC format", attrS(it, "pk"), attrS(it, "sk"), n, v)
		}
	}
}

// userScript is one user's visit; requests of one user run in order except
// where noted, users run concurrently.
func userScript(t *testing.T, e *env, user string, i int, exps []string, rec *userRecord) {
	as := e.asUser(user)
	var mu sync.Mutex // guards rec where a step runs requests concurrently
	done := map[string]bool{}

	assign := func(exp string) {
		r := e.do("GET", "/v1/client/experiments/"+exp+"/assignment", as, "")
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("%s: %v", user, r)
			return
		}
		mu.Lock()
		rec.assigned[exp] = answered{r.str("variant"), r.str("assigned_at")}
		done[exp] = true
		mu.Unlock()
	}
	expose := func(exp string, other bool) {
		mu.Lock()
		assigned := rec.assigned[exp].variant
		mu.Unlock()
		shown, body := assigned, ""
		if other {
			shown = otherVariant(assigned)
			body = fmt.Sprintf(`{"variant":%q}`, shown)
		}
		r := e.do("POST", "/v1/client/experiments/"+exp+"/exposure", as, body)
		if r.err != nil || r.status != http.StatusCreated || r.str("variant") != shown {
			t.Errorf("%s: exposure showing %s: %v", user, shown, r)
			return
		}
		mu.Lock()
		if _, dup := rec.exposures[r.str("id")]; dup {
			t.Errorf("%s: exposure id %s answered twice", user, r.str("id"))
		}
		rec.exposed[exp]++
		rec.exposures[r.str("id")] = exposure{user: user, exp: exp, shown: shown, assigned: assigned, exposedAt: r.str("exposed_at")}
		mu.Unlock()
	}
	// send posts a batch; want is each event's expected status.
	type ev struct {
		json, id, name, props string
		old                   bool
		want                  string
	}
	send := func(evs ...ev) {
		mu.Lock()
		after := map[string]bool{}
		for k := range done {
			after[k] = true
		}
		mu.Unlock()
		var parts []string
		for _, x := range evs {
			parts = append(parts, x.json)
		}
		r := e.do("POST", "/v1/client/events", as, `{"events":[`+strings.Join(parts, ",")+`]}`)
		if r.err != nil || r.status != http.StatusAccepted {
			t.Errorf("%s: events: %v", user, r)
			return
		}
		results := r.body["results"].([]any)
		mu.Lock()
		defer mu.Unlock()
		for j, x := range evs {
			m := results[j].(map[string]any)
			if m["status"] != x.want {
				t.Errorf("%s: event %d (%s) answered %v, want %s", user, j, x.json, m, x.want)
				continue
			}
			id, _ := m["id"].(string)
			switch x.want {
			case "accepted":
				if x.id != "" && id != x.id {
					t.Errorf("%s: event %s answered id %q", user, x.id, id)
				}
				if _, dup := rec.events[id]; dup {
					t.Errorf("%s: event id %s accepted twice", user, id)
				}
				rec.events[id] = acceptedEvent{name: x.name, props: x.props, old: x.old}
				rec.sentAfter[id] = after
			case "duplicate":
				if _, ok := rec.events[id]; !ok {
					t.Errorf("%s: event %s is a duplicate of nothing accepted", user, id)
				}
			}
		}
	}
	event := func(name, id, props, want string) ev {
		j := fmt.Sprintf(`{"name":%q`, name)
		if id != "" {
			j += fmt.Sprintf(`,"id":%q`, id)
		}
		if props != "" {
			j += `,"properties":` + props
		}
		return ev{json: j + "}", id: id, name: name, props: props, want: want}
	}
	p := func(k string) string { return fmt.Sprintf("%s-%s", user, k) }

	// Before any assignment: converts for nothing.
	send(event("signup", p("signup"), `{"plan":"free"}`, "accepted"))
	assign(exps[0])
	// Exposure and events at the same time, after the assignment.
	var step sync.WaitGroup
	if i%3 != 0 {
		step.Add(1)
		go func() { defer step.Done(); expose(exps[0], i%4 == 1) }()
	}
	step.Add(1)
	go func() {
		defer step.Done()
		evs := []ev{event("signup", p("signup"), `{"plan":"free"}`, "duplicate")}
		if i%2 == 0 {
			evs = append(evs, event("purchase", p("buy1"), fmt.Sprintf(`{"amount":%d}`, i), "accepted"))
		}
		send(evs...)
	}()
	step.Wait()

	assign(exps[1])
	if i%2 == 1 {
		expose(exps[1], false)
		if i%5 == 0 {
			expose(exps[1], true)
		}
	}
	old := event("refund", p("refund"), "", "accepted")
	old.json = fmt.Sprintf(`{"name":"refund","id":%q,"timestamp":%q}`, p("refund"), time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	old.old = true
	send(
		// A retried id with other content: a duplicate, stored as first sent.
		event("purchase", p("buy1"), `{"amount":-1}`, map[bool]string{true: "duplicate", false: "accepted"}[i%2 == 0]),
		old,
		ev{json: `{"name":"bad name!"}`, want: "rejected"},
		event("checkout", "", "", "accepted"),
		ev{json: fmt.Sprintf(`{"name":"late","timestamp":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), want: "rejected"},
	)
	if i%5 != 4 {
		assign(exps[2])
	}
	send(event("purchase", p("buy2"), "", "accepted"))
	if i%5 != 4 && i%2 == 0 {
		expose(exps[2], false)
	}
}
