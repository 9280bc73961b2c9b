package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// demoConversion is the share of each variant's demo users who purchase,
// in percent: the treatment converts better, so the console's results page
// has a lift to draw from the first run.
var demoConversion = map[string]int{"control": 10, "treatment": 15}

// demoAmount is demo user i's purchase amount: spread from 20 to 80, the
// same in both variants, so the revenue metric's lift is the conversion's.
func demoAmount(i int) int { return 20 + i*37%61 }

// demoHistory reports whether demo user i bought something three days
// before the demo (its CUPED covariate, at demoAmount(i)): most users who
// buy in the experiment did, and a few who do not, so a cuped=true reading
// of the revenue metric has a history to adjust by.
func demoHistory(i int, buys bool) bool { return buys == (i%5 != 0) }

// demoHistoryAge is how long before the demo its history purchases are
// stamped: inside the default CUPED window (14 days), before today.
const demoHistoryAge = 3 * 24 * time.Hour

// demoBuy is one purchase of a demo user, as the server events API takes it.
type demoBuy struct {
	UserID     string          `json:"user_id"`
	Name       string          `json:"name"`
	ID         string          `json:"id"`
	Timestamp  string          `json:"timestamp,omitempty"`
	Properties json.RawMessage `json:"properties"`
}

// sendDemoTraffic enrols n demo users in the demo experiment through the
// server API, as a backend would: an evaluation that assigns each user
// (POST /v1/server/evaluate), the purchases some of them made days before
// (POST /v1/server/events, stamped in the past), then an evaluation with
// tracking, which records the exposure, and the purchases of a fixed share
// of each variant's users. All through the gateway in-process with the
// server key; the aggregator counts them as any traffic.
func sendDemoTraffic(ctx context.Context, gw http.Handler, serverKey string, n int) error {
	if n <= 0 {
		return nil
	}
	var (
		mu      sync.Mutex
		history []demoBuy
		buys    []demoBuy
		buyers  = map[int]bool{}
		seen    = map[string]int{} // users per variant so far
	)
	past := time.Now().UTC().Add(-demoHistoryAge).Format(time.RFC3339)
	purchase := func(i int, id, at string) demoBuy {
		user := demoUser(i)
		return demoBuy{UserID: user, Name: "purchase", ID: id + user, Timestamp: at,
			Properties: json.RawMessage(fmt.Sprintf(`{"amount":%d}`, demoAmount(i)))}
	}
	// Assign every user (no exposure yet) and decide who buys: exactly
	// rate% of each variant's users, spread evenly.
	err := eachDemoUser(ctx, n, func(i int) error {
		variant, err := demoEvaluate(ctx, gw, serverKey, i, false)
		if err != nil || variant == "" {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		k, rate := seen[variant], demoConversion[variant]
		seen[variant]++
		buyers[i] = (k+1)*rate/100 > k*rate/100
		if demoHistory(i, buyers[i]) {
			history = append(history, purchase(i, "demo-history-", past))
		}
		if buyers[i] {
			buys = append(buys, purchase(i, "demo-order-", ""))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := sendDemoEvents(ctx, gw, serverKey, history); err != nil {
		return err
	}
	// The exposures, once the history is stored: it is the covariate.
	err = eachDemoUser(ctx, n, func(i int) error {
		_, err := demoEvaluate(ctx, gw, serverKey, i, true)
		return err
	})
	if err != nil {
		return err
	}
	return sendDemoEvents(ctx, gw, serverKey, buys)
}

func demoUser(i int) string { return fmt.Sprintf("demo-user-%04d", i) }

// eachDemoUser runs f for users 0..n-1, 8 at a time. A stop while it runs
// returns the context's error (not a failure of the traffic).
func eachDemoUser(ctx context.Context, n int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	users := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range users {
				if err := f(i); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		users <- i
	}
	close(users)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if first != nil {
		return fmt.Errorf("demo traffic: %w", first)
	}
	return nil
}

// demoEvaluate evaluates the demo experiment for user i, tracking (the
// exposure) or not, and returns the user's variant ("" when not enrolled).
func demoEvaluate(ctx context.Context, gw http.Handler, serverKey string, i int, track bool) (string, error) {
	var ans struct {
		Experiments map[string]struct {
			Variant      string `json:"variant"`
			InExperiment bool   `json:"in_experiment"`
		} `json:"experiments"`
	}
	body := fmt.Sprintf(`{"user_id":%q,"experiments":[%q],"track":%t}`, demoUser(i), DemoExperiment, track)
	if err := serverCall(ctx, gw, serverKey, "/v1/server/evaluate", body, http.StatusOK, &ans); err != nil {
		return "", err
	}
	if e := ans.Experiments[DemoExperiment]; e.InExperiment {
		return e.Variant, nil
	}
	return "", nil
}

// demoBatch is how many purchases one demo request carries: each names its
// own user, so a request's time grows with it, and a small batch stays well
// inside the request timeout on a loaded machine (the tests' race detector).
const demoBatch = 20

// sendDemoEvents sends purchases in batches of demoBatch.
func sendDemoEvents(ctx context.Context, gw http.Handler, serverKey string, buys []demoBuy) error {
	for len(buys) > 0 {
		batch := buys[:min(demoBatch, len(buys))]
		buys = buys[len(batch):]
		b, err := json.Marshal(map[string]any{"events": batch})
		if err != nil {
			return err
		}
		if err := serverCall(ctx, gw, serverKey, "/v1/server/events", string(b), http.StatusAccepted, nil); err != nil {
			return fmt.Errorf("demo traffic: %w", err)
		}
	}
	return nil
}

// serverCall sends one server API request to gw and decodes its answer.
func serverCall(ctx context.Context, gw http.Handler, key, path, body string, want int, out any) error {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, req)
	if w.Code != want {
		return fmt.Errorf("POST %s: %d %s", path, w.Code, w.Body.Bytes())
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(w.Body.Bytes(), out)
}
