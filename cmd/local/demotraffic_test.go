package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/auth"
)

// TestDemoTraffic: a fresh run enrols the demo users through the server
// API, exactly demoConversion percent of each variant's users purchase, and
// the results the console draws count them all; their history makes a
// CUPED reading of the revenue metric narrower.
func TestDemoTraffic(t *testing.T) {
	const users = 60
	l := startWith(t, settings{
		Addr: "127.0.0.1:0", Table: "local-demo-traffic", Endpoint: dltest.Endpoint(),
		Credentials: filepath.Join(t.TempDir(), "credentials.env"),
		Session:     auth.SessionConfig{HS256Secret: testSecret}, DemoUsers: users,
	})
	if !strings.Contains(l.out.String(), "/console/") {
		t.Errorf("the console's address is not printed:\n%s", l.out.String())
	}
	l.drain(t)
	status, res := send(t, l.base, Example{Method: http.MethodGet, Path: "/v1/admin/experiments/" + DemoExperiment + "/results?event=purchase",
		Headers: [][2]string{{"X-Api-Key", l.creds.AdminKey}}})
	if status != http.StatusOK {
		t.Fatalf("results: %d %v", status, res)
	}
	exposed := 0
	for _, r := range res["variants"].([]any) {
		row := r.(map[string]any)
		n := int(row["exposed_count"].(float64))
		exposed += n
		if want := n * demoConversion[row["variant"].(string)] / 100; int(row["converted_count"].(float64)) != want {
			t.Errorf("%s: %v of %d converted, want %d", row["variant"], row["converted_count"], n, want)
		}
	}
	if exposed != users {
		t.Errorf("%d exposed, want %d", exposed, users)
	}

	// The revenue metric: the variants' n·mean add up to the amounts of the
	// users the export says converted, read three ways.
	req, err := http.NewRequest(http.MethodGet, l.base+"/v1/admin/experiments/"+DemoExperiment+"/export?limit=1000", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", l.creds.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var spent float64
	for dec := json.NewDecoder(resp.Body); dec.More(); {
		var row struct {
			Unit      string          `json:"unit"`
			Converted map[string]bool `json:"converted"`
		}
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		var i int
		if _, err := fmt.Sscanf(row.Unit, "demo-user-%d", &i); err == nil && row.Converted["purchase"] {
			spent += float64(demoAmount(i))
		}
	}
	if spent == 0 {
		t.Fatal("no demo user spent anything")
	}
	for _, method := range []string{"frequentist", "sequential", "bayesian"} {
		status, rev := send(t, l.base, Example{Method: http.MethodGet, Path: "/v1/admin/experiments/" + DemoExperiment + "/results?metric=" + DemoRevenueMetric + "&method=" + method,
			Headers: [][2]string{{"X-Api-Key", l.creds.AdminKey}}})
		if status != http.StatusOK || rev["metric"] != DemoRevenueMetric || rev["method"] != method {
			t.Fatalf("revenue %s: %d %v", method, status, rev)
		}
		var total float64
		for _, r := range rev["variants"].([]any) {
			row := r.(map[string]any)
			n, mean := row["n"].(float64), row["mean"].(float64)
			total += n * mean
		}
		if math.Abs(total-spent) > 1e-6 {
			t.Errorf("revenue %s: Σ n·mean %v, want the buyers' amounts %v", method, total, spent)
		}
	}
	// Most buyers bought before too: CUPED finds the history and narrows
	// the comparison.
	status, rev := send(t, l.base, Example{Method: http.MethodGet, Path: "/v1/admin/experiments/" + DemoExperiment + "/results?metric=" + DemoRevenueMetric + "&cuped=true",
		Headers: [][2]string{{"X-Api-Key", l.creds.AdminKey}}})
	if status != http.StatusOK {
		t.Fatalf("revenue with CUPED: %d %v", status, rev)
	}
	cuped, _ := rev["cuped"].(map[string]any)
	treatment, _ := rev["variants"].([]any)[1].(map[string]any)["cuped"].(map[string]any)
	if theta, _ := cuped["theta"].(float64); theta <= 0 {
		t.Fatalf("revenue with CUPED: theta %v", cuped)
	}
	if vr, _ := treatment["variance_reduction"].(float64); vr <= 0.2 {
		t.Fatalf("revenue with CUPED: the treatment's figures %v", treatment)
	}
}

func TestDemoUsersSetting(t *testing.T) {
	for _, k := range []string{"SESSION_HS256_SECRET", "SESSION_JWKS_URL", "SESSION_JWKS_JSON"} {
		t.Setenv(k, "")
	}
	for _, tc := range []struct {
		env  string
		want int
		ok   bool
	}{{"", 300, true}, {"0", 0, true}, {"25", 25, true}, {"-1", 0, false}, {"many", 0, false}} {
		t.Setenv("LOCAL_DEMO_USERS", tc.env)
		s, err := settingsFromEnv()
		if (err == nil) != tc.ok || (tc.ok && s.DemoUsers != tc.want) {
			t.Errorf("LOCAL_DEMO_USERS=%q: %d %v", tc.env, s.DemoUsers, err)
		}
	}
}
