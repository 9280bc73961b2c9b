package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// walkthroughWants are in the output of a walkthrough that ran to its end.
var walkthroughWants = []string{`"status":"active"`, `"variant":`, `"accepted":1`, `"z_score"`, `"srm":{"p_value":`, `"sample_size_per_variant":`, `"action":"pause"`,
	"unit,variant,assigned_at,first_exposed_at,converted:purchase", `"erased":{"assignments":`, `"dynamodb":"ok"`,
	`"in_experiment":false,"reason":"not_targeted"`, `"unit":{"user_id":"alice","device_id":"browser-`, `"reason":"no_unit_id"`, `"in_experiment":false,"reason":"not_in_layer"`, `"free":[]`, `"held_out":`,
	`"hash_attribute":"id"`, `"enabled":false`, `"metric":"revenue"`, `"method":"bayesian"`}

// TestREADMEWalkthrough runs the README's walkthrough block with bash and
// curl against a local server, as a reader pastes it into bash: with no
// options of its own, so the block's set -e is what stops it, and every
// request is curl -fsS, so a non-2xx answer fails the block and curl says
// why. It runs with a KEY, twice more with the default key (a new
// experiment each time), and once more with the first KEY, which must stop
// at the 409 with the error shown and nothing run after it.
func TestREADMEWalkthrough(t *testing.T) {
	block := readmeBlock(t, "<!-- walkthrough")
	if !strings.HasPrefix(block, "set -eu\n") || !strings.Contains(block, "source .local/credentials.env") {
		t.Fatalf("walkthrough does not start with set -eu and the credentials file:\n%s", block)
	}
	curls := regexp.MustCompile(`curl( +-\S+)*`).FindAllString(block, -1)
	for _, c := range curls {
		if !strings.HasPrefix(c, "curl -fsS") {
			t.Errorf("walkthrough runs %q: every request must be curl -fsS (fail on HTTP errors, and show them)", c)
		}
	}
	if len(curls) < 10 {
		t.Fatalf("walkthrough has %d curl commands:\n%s", len(curls), block)
	}

	dir := localWithCredentials(t)
	walk := func(key string) (string, error) {
		cmd := exec.Command("bash", "-c", block)
		cmd.Dir = dir
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "KEY=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		if key != "" {
			cmd.Env = append(cmd.Env, "KEY="+key)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	const key = "walkthrough_test"
	for i, k := range []string{key, "", ""} {
		out, err := walk(k)
		if err != nil {
			t.Fatalf("walkthrough run %d (KEY=%q) failed: %v\n%s", i+1, k, err, out)
		}
		for _, want := range walkthroughWants {
			if !strings.Contains(out, want) {
				t.Errorf("walkthrough run %d output lacks %s:\n%s", i+1, want, out)
			}
		}
		if strings.Contains(out, "}{") {
			t.Errorf("walkthrough run %d: two JSON answers on one line (no trailing newline):\n%s", i+1, out)
		}
	}

	out, err := walk(key)
	if err == nil {
		t.Fatalf("walkthrough with an existing KEY succeeded:\n%s", out)
	}
	if !strings.Contains(out, "error: 409") {
		t.Errorf("walkthrough with an existing KEY does not show the 409:\n%s", out)
	}
	if strings.Contains(out, `"status":"active"`) || strings.Contains(out, `"action":"pause"`) {
		t.Errorf("walkthrough went on after the 409:\n%s", out)
	}
}

// TestREADMEClassic runs the README's classic Experiments API block (the
// reference's requests with the local base URL and admin token) with bash
// and curl against a local server: every request must answer 2xx, and the
// answers are the ones the section shows.
func TestREADMEClassic(t *testing.T) {
	block := readmeBlock(t, "<!-- classic")
	if !strings.HasPrefix(block, "set -eu\n") || strings.Count(block, "curl -fsS") < 10 {
		t.Fatalf("the classic block does not start with set -eu or lacks its curl -fsS requests:\n%s", block)
	}
	dir := localWithCredentials(t)
	cmd := exec.Command("bash", "-c", block)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the classic block failed: %v\n%s", err, out)
	}
	for _, want := range []string{`{"data":{"id":"exp_`, `"audienceId":"aud_xyz"`, `{"id":"v1","name":"Control","splitPercentage":50,"flowId":"flow_a","config":{}}`,
		`"meta":{"total":1,"page":1,"limit":20,"totalPages":1}`, `"primaryEvent":"signup"`, `"status":"running"`, `"participants":`,
		`"sampleSize":0,"conversions":0,"conversionRate":0`, `"status":"stopped"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the classic block's output lacks %s:\n%s", want, out)
		}
	}
}

// readmeBlock is the README's first sh block after marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), marker)
	if !ok {
		t.Fatalf("README has no block after %q", marker)
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	return block
}

// localWithCredentials starts the local stack and returns a folder whose
// .local/credentials.env is its credentials file, as a reader's clone has.
func localWithCredentials(t *testing.T) string {
	t.Helper()
	l := startLocal(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".local"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.creds.write(filepath.Join(dir, ".local", "credentials.env")); err != nil {
		t.Fatal(err)
	}
	return dir
}
