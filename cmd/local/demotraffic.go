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
)

// demoConversion is the share of each variant's demo users who purchase,
// in percent: the treatment converts better, so the console's results page
// has a lift to draw from the first run.
var demoConversion = map[string]int{"control": 10, "treatment": 15}

// demoAmount is demo user i's purchase amount: spread from 20 to 80, the
// same in both variants, so the revenue metric's lift is the conversion's.
func demoAmount(i int) int { return 20 + i*37%61 }

// sendDemoTraffic enrols n demo users in the demo experiment through the
// server API (POST /v1/server/evaluate with tracking, which records the
// exposure) and sends the purchases of a fixed share of each variant's users
// (POST /v1/server/events), all through the gateway in-process with the
// server key, as a backend would. The aggregator counts them as any traffic.
func sendDemoTraffic(ctx context.Context, gw http.Handler, serverKey string, n int) error {
	if n <= 0 {
		return nil
	}
	type buy struct {
		UserID     string          `json:"user_id"`
		Name       string          `json:"name"`
		ID         string          `json:"id"`
		Properties json.RawMessage `json:"properties"`
	}
	var (
		mu    sync.Mutex
		buys  []buy
		seen  = map[string]int{} // users per variant so far
		first error
		wg    sync.WaitGroup
	)
	users := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range users {
				user := fmt.Sprintf("demo-user-%04d", i)
				var ans struct {
					Experiments map[string]struct {
						Variant      string `json:"variant"`
						InExperiment bool   `json:"in_experiment"`
					} `json:"experiments"`
				}
				body := fmt.Sprintf(`{"user_id":%q,"experiments":[%q],"track":true}`, user, DemoExperiment)
				err := serverCall(ctx, gw, serverKey, "/v1/server/evaluate", body, http.StatusOK, &ans)
				mu.Lock()
				switch e := ans.Experiments[DemoExperiment]; {
				case err != nil:
					first = errors.Join(first, err)
				case e.InExperiment:
					// Exactly rate% of each variant's users, spread evenly.
					k, rate := seen[e.Variant], demoConversion[e.Variant]
					seen[e.Variant]++
					if (k+1)*rate/100 > k*rate/100 {
						buys = append(buys, buy{UserID: user, Name: "purchase", ID: "demo-order-" + user,
							Properties: json.RawMessage(fmt.Sprintf(`{"amount":%d}`, demoAmount(i)))})
					}
				}
				mu.Unlock()
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
		return ctx.Err() // stopped while starting: not a failure of the traffic
	}
	if first != nil {
		return fmt.Errorf("demo traffic: %w", first)
	}
	for len(buys) > 0 {
		batch := buys[:min(100, len(buys))]
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
