package console_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/stacktest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// chromium is Debian's browser (package chromium), which the project's
// scripts install (scripts/chromium.sh); CHROMIUM names another.
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// needBrowser fails under CI, and skips elsewhere, when the browser or
// playwright-core (make console: npm ci) is missing.
func needBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(chromium()); err != nil {
		missing = append(missing, chromium()+" (install it: sudo bash scripts/chromium.sh, which runs apt-get install -y chromium)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (Node.js)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "console/node_modules/playwright-core (run make console: npm ci)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the browser test needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestConsoleInBrowser drives the console in headless Chromium against the
// whole stack: sign in, create an experiment (a validation error, then a
// valid one), start it, send client traffic, read the results (the table
// equal to the API's, both charts drawn, one series per variant), switch the
// method, pause it and find the audit entry, sign out; any console error or
// failed request in the page fails it. The results page's screenshot goes to
// build/console-results.png. Every admin answer the page gets is checked
// against docs/openapi.yaml by the stack.
func TestConsoleInBrowser(t *testing.T) {
	needBrowser(t)
	st := stacktest.Start(t)
	shot, err := filepath.Abs(filepath.Join("..", "build", "console-results.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "node", filepath.Join("e2e", "console.mjs"))
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+st.URL, "ADMIN_KEY="+st.AdminKey, "ADMIN_TOKEN="+st.AdminToken("console-admin"), "SCREENSHOT="+shot, "CHROMIUM="+chromium())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		ask, ok := strings.CutPrefix(lines.Text(), "TRAFFIC ")
		if !ok {
			t.Log(lines.Text())
			continue
		}
		// "<key>" or "<key> <users> <control %> <treatment %>".
		key, users, rates := ask, 80, map[string]int{"control": 20, "treatment": 33}
		if f := strings.Fields(ask); len(f) == 4 {
			var c, tr int
			if _, err := fmt.Sscan(strings.Join(f[1:], " "), &users, &c, &tr); err != nil {
				t.Fatalf("TRAFFIC %s: %v", ask, err)
			}
			key, rates = f[0], map[string]int{"control": c, "treatment": tr}
		}
		sendTraffic(t, st, key, users, rates)
		if _, err := io.WriteString(stdin, "GO\n"); err != nil {
			t.Fatal(err)
		}
	}
	err = cmd.Wait()
	t.Log(stderr.String())
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("the browser test failed (exit %d); see its steps and problems above", exit.ExitCode())
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
}

// sendTraffic assigns and exposes users through the client API, as an
// application does, and exactly rates[variant] percent of each variant's
// users purchase. Then it counts the stream as the aggregator would.
func sendTraffic(t *testing.T, st *stacktest.Stack, key string, users int, rates map[string]int) {
	t.Helper()
	seen := map[string]int{}
	for i := range users {
		user := fmt.Sprintf("%s-user-%02d", key, i)
		variant := assign(t, st, user, key)
		st.Send(user, "POST", "/v1/client/experiments/"+key+"/exposure", "")
		k, rate := seen[variant], rates[variant]
		seen[variant]++
		if (k+1)*rate/100 > k*rate/100 {
			st.Send(user, "POST", "/v1/client/events", fmt.Sprintf(`{"events":[{"name":"purchase","id":"order-%d"}]}`, i))
		}
	}
	st.Drain()
}

// assign is the user's variant of key (GET .../assignment).
func assign(t *testing.T, st *stacktest.Stack, user, key string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, st.URL+"/v1/client/experiments/"+key+"/assignment", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = st.Client(user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Variant string }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK || a.Variant == "" {
		t.Fatalf("assignment of %s: %d %v", user, resp.StatusCode, err)
	}
	return a.Variant
}
