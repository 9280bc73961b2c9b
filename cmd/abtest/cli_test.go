package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/usecase/results"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/stacktest"
	"github.com/abtest/abtest/shared/usecase/keys"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command in-process against the stack, with ABTEST_URL and
// ABTEST_ADMIN_KEY set as an operator would.
func cli(t *testing.T, st *stacktest.Stack, args ...string) result {
	t.Helper()
	vars := map[string]string{EnvURL: st.URL, EnvKey: st.AdminKey}
	return cliEnv(t, vars, args...)
}

func cliEnv(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }})
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const experimentYAML = `key: checkout_button
name: Checkout button
description: Does a green button convert better?
events: [purchase]
variants:
  - key: control
    weight: 1
    payload: {color: blue}
  - key: green
    weight: 1
    payload: {color: green}
`

// TestExperimentLifecycle: create from a YAML file, list, update, start,
// units assigned and converting through the client API, results (table and
// JSON), pause, resume, end, history, archive.
func TestExperimentLifecycle(t *testing.T) {
	st := stacktest.Start(t)
	cli(t, st, "metrics", "create", "-f", write(t, "metric.yaml", "key: spend\nname: Spend\ntype: sum\nevent: purchase\nproperty: amount\n")).ok(t)
	created := cli(t, st, "experiments", "create", "-f", write(t, "experiment.yaml", experimentYAML)).ok(t)
	var exp struct {
		Key, Status string
		Version     int
		Variants    []struct{ Payload map[string]string }
	}
	if err := json.Unmarshal([]byte(created.stdout), &exp); err != nil || exp.Key != "checkout_button" || exp.Status != "draft" || exp.Variants[1].Payload["color"] != "green" {
		t.Fatalf("create printed %q (%v)", created.stdout, err)
	}
	list := cli(t, st, "experiments", "list").ok(t)
	if !strings.Contains(list.stdout, "KEY") || !strings.Contains(list.stdout, "checkout_button  draft   control,green") {
		t.Fatalf("list:\n%s", list.stdout)
	}
	// No version in the file: the current one is used.
	cli(t, st, "experiments", "update", "checkout_button", "-f", write(t, "patch.json", `{"name":"Green checkout button","primary_metric":"spend"}`)).ok(t)
	got := cli(t, st, "experiments", "get", "checkout_button", "-o", "json").ok(t)
	if !strings.Contains(got.stdout, `"name": "Green checkout button"`) || !strings.Contains(got.stdout, `"version": 2`) {
		t.Fatalf("get after update:\n%s", got.stdout)
	}
	if r := cli(t, st, "experiments", "start", "checkout_button").ok(t); r.stdout != "checkout_button is active (version 3)\n" {
		t.Fatalf("start printed %q", r.stdout)
	}

	for i := range 40 {
		user := fmt.Sprintf("user-%d", i)
		st.Send(user, "GET", "/v1/client/experiments/checkout_button/assignment", "")
		st.Send(user, "POST", "/v1/client/experiments/checkout_button/exposure", "")
		if i%3 == 0 {
			st.Send(user, "POST", "/v1/client/events", fmt.Sprintf(`{"events":[{"name":"purchase","properties":{"amount":%d}}]}`, 10+i))
		}
	}
	st.Drain()
	table := cli(t, st, "experiments", "results", "checkout_button", "--event", "purchase").ok(t)
	for _, want := range []string{"checkout_button (active) on purchase", "control (control)", "green", "95% CI (DIFF)", "significant"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("results table lacks %q:\n%s", want, table.stdout)
		}
	}
	var rep results.Report
	if err := json.Unmarshal([]byte(cli(t, st, "experiments", "results", "checkout_button", "--event", "purchase", "-o", "json").ok(t).stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var exposed, converted int64
	for _, v := range rep.Variants {
		exposed, converted = exposed+v.ExposedCount, converted+v.ConvertedCount
	}
	if exposed != 40 || converted != 14 {
		t.Errorf("results count %d exposed, %d converted; want 40 and 14", exposed, converted)
	}
	// A metric, read by any method, adjusted by CUPED.
	spend := cli(t, st, "experiments", "results", "checkout_button", "--metric", "spend", "--method", "sequential", "--cuped").ok(t)
	for _, want := range []string{"on metric spend, sequential", "DIFF [95%]", "LIFT [95%]", "VAR. REMOVED", "CUPED: adjusted by each unit's 14 days"} {
		if !strings.Contains(spend.stdout, want) {
			t.Errorf("metric table lacks %q:\n%s", want, spend.stdout)
		}
	}
	var byMetric results.Report
	if err := json.Unmarshal([]byte(cli(t, st, "experiments", "results", "checkout_button", "--metric", "spend", "--cuped", "-o", "json").ok(t).stdout), &byMetric); err != nil {
		t.Fatal(err)
	}
	var spent float64
	for _, v := range byMetric.Variants {
		if v.Mean != nil {
			spent += *v.Mean * float64(v.N)
		}
	}
	if byMetric.Metric != "spend" || byMetric.CUPED == nil || math.Abs(spent-(10*14+3*91)) > 1e-6 {
		t.Errorf("metric results %+v, spent %v", byMetric, spent)
	}

	for _, action := range []string{"pause", "resume", "end"} {
		cli(t, st, "experiments", action, "checkout_button").ok(t)
	}
	hist := cli(t, st, "experiments", "history", "checkout_button").ok(t)
	for _, want := range []string{"ACTION", "create", "start", "pause", "resume", "end"} {
		if !strings.Contains(hist.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, hist.stdout)
		}
	}
	if r := cli(t, st, "experiments", "archive", "checkout_button").ok(t); r.stdout != "archived checkout_button\n" {
		t.Errorf("archive printed %q", r.stdout)
	}
	gone := cli(t, st, "experiments", "get", "checkout_button")
	if gone.code != exitError || !strings.HasPrefix(gone.stderr, "abtest: EXPERIMENT_NOT_FOUND: no such experiment\n") {
		t.Errorf("get after archive: exit %d, stderr %q", gone.code, gone.stderr)
	}
}

// TestErrors: the API's code, message and fields; exit 1 for the API's
// refusals, 2 for a bad command line.
func TestErrors(t *testing.T) {
	st := stacktest.Start(t)
	bad := cli(t, st, "experiments", "create", "-f", write(t, "bad.yaml", "key: Bad Key\nname: x\nvariants: []\n"))
	if bad.code != exitError || !strings.Contains(bad.stderr, "abtest: VALIDATION_FAILED: ") || !strings.Contains(bad.stderr, "\n  key: ") || !strings.Contains(bad.stderr, "\n  variants: ") {
		t.Errorf("invalid create: exit %d, stderr:\n%s", bad.code, bad.stderr)
	}
	for _, args := range [][]string{{"experiments"}, {"experiments", "fly"}, {"nothing", "list"}, {"experiments", "create"},
		{"experiments", "results", "k"}, {"keys", "create", "--name", "x"}, {"experiments", "get"}, {"experiments", "list", "-o", "xml"}} {
		if r := cli(t, st, args...); r.code != exitUsage || !strings.HasPrefix(r.stderr, "abtest: ") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := cliEnv(t, nil, "experiments", "list"); r.code != exitUsage || !strings.Contains(r.stderr, EnvURL) {
		t.Errorf("without settings: exit %d, stderr %q", r.code, r.stderr)
	}
	// Flags override the environment.
	wrong := map[string]string{EnvURL: "http://127.0.0.1:1", EnvKey: "nope"}
	cliEnv(t, wrong, "experiments", "list", "--url", st.URL, "--key", st.AdminKey).ok(t)
	if r := cliEnv(t, map[string]string{EnvURL: st.URL, EnvKey: st.ClientKey}, "experiments", "list"); r.code != exitError || !strings.Contains(r.stderr, "FORBIDDEN") {
		t.Errorf("with a client key: exit %d, stderr %q", r.code, r.stderr)
	}
	// An admin token in place of a key, from the environment or a flag;
	// a session token that is not an admin's is refused.
	cliEnv(t, map[string]string{EnvURL: st.URL, EnvToken: st.AdminToken("ops@example.com")}, "experiments", "list").ok(t)
	cliEnv(t, map[string]string{EnvURL: st.URL}, "experiments", "list", "--token", st.AdminToken("ops@example.com")).ok(t)
	if r := cliEnv(t, map[string]string{EnvURL: st.URL, EnvToken: st.Token("alice")}, "experiments", "list"); r.code != exitError {
		t.Errorf("with a user's session token: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cliEnv(t, nil, "help"); r.code != exitOK || !strings.Contains(r.stdout, "abtest experiments results KEY --event NAME") {
		t.Errorf("help: exit %d, %q", r.code, r.stdout)
	}
}

// TestKeysAndPaging: keys create, list and revoke; a listing longer than
// one page is read whole.
func TestKeysAndPaging(t *testing.T) {
	st := stacktest.Start(t)
	created := cli(t, st, "keys", "create", "--name", "ci", "--role", "client", "-o", "json").ok(t)
	var k struct{ ID, Key string }
	if err := json.Unmarshal([]byte(created.stdout), &k); err != nil || k.ID == "" || !strings.Contains(k.Key, k.ID) {
		t.Fatalf("keys create printed %q", created.stdout)
	}
	for i := range 101 {
		if _, _, err := keys.Issue(context.Background(), st.Store, fmt.Sprintf("bulk-%d", i), apikey.RoleClient, "test", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var all []map[string]any
	if err := json.Unmarshal([]byte(cli(t, st, "keys", "list", "-o", "json").ok(t).stdout), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 105 { // the stack's three (admin, client, server), ci and 101
		t.Errorf("keys list -o json has %d keys, want 105", len(all))
	}
	if r := cli(t, st, "keys", "list", "--max", "3").ok(t); strings.Count(r.stdout, "\n") != 4 {
		t.Errorf("--max 3 printed:\n%s", r.stdout)
	}
	cli(t, st, "keys", "revoke", k.ID).ok(t)
	if err := json.Unmarshal([]byte(cli(t, st, "keys", "list", "-o", "json").ok(t).stdout), &all); err != nil {
		t.Fatal(err)
	}
	for _, key := range all {
		if key["id"] == k.ID && key["revoked_at"] == nil {
			t.Errorf("%s is not revoked: %v", k.ID, key)
		}
	}
	if r := cli(t, st, "keys", "revoke", "nope"); r.code != exitError || !strings.Contains(r.stderr, "API_KEY_NOT_FOUND") {
		t.Errorf("revoke nope: exit %d, %q", r.code, r.stderr)
	}
}

// TestTargetingResources: layers, saved groups and holdouts from files.
func TestTargetingResources(t *testing.T) {
	st := stacktest.Start(t)
	cli(t, st, "layers", "create", "-f", write(t, "layer.yml", "key: hero\nname: Home hero\n")).ok(t)
	if r := cli(t, st, "layers", "list").ok(t); !strings.Contains(r.stdout, "hero  0            [0,1)  Home hero") {
		t.Errorf("layers list:\n%s", r.stdout)
	}
	cli(t, st, "layers", "get", "hero").ok(t)
	cli(t, st, "layers", "archive", "hero").ok(t)

	cli(t, st, "saved-groups", "create", "-f", write(t, "g.json", `{"key":"staff","name":"Staff","values":["alice",7]}`)).ok(t)
	cli(t, st, "saved-groups", "update", "staff", "-f", write(t, "g2.yaml", "values: [alice, bob, carol]\n")).ok(t)
	if r := cli(t, st, "saved-groups", "list").ok(t); !strings.Contains(r.stdout, "staff  3     2") {
		t.Errorf("saved-groups list:\n%s", r.stdout)
	}
	cli(t, st, "saved-groups", "delete", "staff").ok(t)

	cli(t, st, "holdouts", "create", "-f", write(t, "h.yaml", "key: global\nname: Global\npercent: 5\nevents: [purchase]\n")).ok(t)
	cli(t, st, "holdouts", "update", "global", "-f", write(t, "h2.yaml", "percent: 10\n")).ok(t)
	if r := cli(t, st, "holdouts", "results", "global", "--event", "purchase").ok(t); !strings.Contains(r.stdout, "held_out (control)") {
		t.Errorf("holdouts results:\n%s", r.stdout)
	}
	if r := cli(t, st, "holdouts", "list").ok(t); !strings.Contains(r.stdout, "global  10       live") {
		t.Errorf("holdouts list:\n%s", r.stdout)
	}
	cli(t, st, "holdouts", "archive", "global").ok(t)

	cli(t, st, "flags", "create", "-f", write(t, "f.yaml", "key: new-nav\ntype: boolean\ndefault_value: false\nrules:\n  - condition: {plan: pro}\n    value: true\n")).ok(t)
	cli(t, st, "flags", "update", "new-nav", "-f", write(t, "f2.yaml", "enabled: false\n")).ok(t)
	if r := cli(t, st, "flags", "list").ok(t); !strings.Contains(r.stdout, "new-nav  boolean  false    false    1      2") {
		t.Errorf("flags list:\n%s", r.stdout)
	}
	if r := cli(t, st, "flags", "history", "new-nav").ok(t); !strings.Contains(r.stdout, "update") || !strings.Contains(r.stdout, "create") {
		t.Errorf("flags history:\n%s", r.stdout)
	}
	cli(t, st, "flags", "archive", "new-nav").ok(t)

	cli(t, st, "metrics", "create", "-f", write(t, "m.yaml", "key: buyers\nname: Buyers\ntype: binomial\nevent: purchase\n")).ok(t)
	cli(t, st, "metrics", "update", "buyers", "-f", write(t, "m2.yaml", "name: Paying users\n")).ok(t)
	if r := cli(t, st, "metrics", "list").ok(t); !strings.Contains(r.stdout, "buyers  binomial  purchase") || !strings.Contains(r.stdout, "Paying users") {
		t.Errorf("metrics list:\n%s", r.stdout)
	}
	if r := cli(t, st, "metrics", "history", "buyers").ok(t); !strings.Contains(r.stdout, "update") {
		t.Errorf("metrics history:\n%s", r.stdout)
	}
	cli(t, st, "metrics", "archive", "buyers").ok(t)
	if r := cli(t, st, "flags", "get", "new-nav"); r.code != 1 || !strings.Contains(r.stderr, "FLAG_NOT_FOUND") {
		t.Errorf("archived flag: %+v", r)
	}
}
