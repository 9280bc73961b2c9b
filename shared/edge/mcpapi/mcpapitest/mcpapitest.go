// Package mcpapitest drives the MCP tools through a connected client
// session the way an agent would, against a running stack, so every
// transport (streamable HTTP, stdio) is tested by the same scenario.
package mcpapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/edge/stacktest"
)

// Tools are the tools every transport must list.
var Tools = []string{"experiments_create", "experiments_delete", "experiments_end", "experiments_get", "experiments_list",
	"experiments_pause", "experiments_results", "experiments_resume", "experiments_start", "experiments_update"}

// Exercise lists the tools, creates an experiment (key), starts it, assigns
// and exposes units through the client API with some converting, reads the
// results, and checks a refusal comes back as a tool error with the API's
// code.
func Exercise(t *testing.T, ctx context.Context, s *mcp.ClientSession, st *stacktest.Stack, key string) {
	t.Helper()
	list, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil {
			t.Errorf("tool %s lacks a description or an input schema", tool.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, Tools) {
		t.Fatalf("tools %v, want %v", names, Tools)
	}

	created := call(t, ctx, s, "experiments_create", map[string]any{
		"key": key, "name": "Checkout button", "events": []string{"purchase"},
		"variants": []map[string]any{{"key": "control", "weight": 1}, {"key": "green", "weight": 1, "payload": map[string]string{"color": "green"}}},
	})
	if created["status"] != "draft" || created["version"] != float64(1) {
		t.Fatalf("experiments_create answered %v", created)
	}
	if started := call(t, ctx, s, "experiments_start", map[string]any{"key": key}); started["status"] != "active" {
		t.Fatalf("experiments_start answered %v", started)
	}
	updated := call(t, ctx, s, "experiments_update", map[string]any{"key": key, "name": "Green checkout button"})
	if updated["name"] != "Green checkout button" || updated["version"] != float64(3) {
		t.Fatalf("experiments_update answered %v", updated)
	}
	const units, converting = 30, 10
	for i := range units {
		user := fmt.Sprintf("%s-user-%d", key, i)
		st.Send(user, "GET", "/v1/client/experiments/"+key+"/assignment", "")
		st.Send(user, "POST", "/v1/client/experiments/"+key+"/exposure", "")
		if i < converting {
			st.Send(user, "POST", "/v1/client/events", `{"events":[{"name":"purchase"}]}`)
		}
	}
	st.Drain()
	got := call(t, ctx, s, "experiments_get", map[string]any{"key": key})
	var assigned float64
	for _, v := range got["variants"].([]any) {
		assigned += v.(map[string]any)["assigned_count"].(float64)
	}
	if assigned != units {
		t.Errorf("experiments_get counts %v assigned units, want %d", assigned, units)
	}
	res := call(t, ctx, s, "experiments_results", map[string]any{"key": key, "event": "purchase"})
	var exposed, converted float64
	for _, v := range res["variants"].([]any) {
		row := v.(map[string]any)
		exposed += row["exposed_count"].(float64)
		converted += row["converted_count"].(float64)
	}
	if exposed != units || converted != converting {
		t.Errorf("experiments_results: %v exposed, %v converted; want %d and %d: %v", exposed, converted, units, converting, res)
	}
	if summary, _ := res["summary"].([]any); len(summary) != 2 || !strings.Contains(fmt.Sprint(summary[0]), "(control)") {
		t.Errorf("experiments_results summary %v", res["summary"])
	}
	listed := call(t, ctx, s, "experiments_list", map[string]any{"status": "active"})
	if n := len(listed["experiments"].([]any)); n != 1 {
		t.Errorf("experiments_list active: %d experiments", n)
	}
	for _, action := range []string{"pause", "resume", "end"} {
		call(t, ctx, s, "experiments_"+action, map[string]any{"key": key})
	}
	if deleted := call(t, ctx, s, "experiments_delete", map[string]any{"key": key}); deleted["archived"] != true {
		t.Errorf("experiments_delete answered %v", deleted)
	}

	// Refusals are tool errors with the API's code and message.
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"experiments_get", map[string]any{"key": key}, "EXPERIMENT_NOT_FOUND: no such experiment"},
		{"experiments_create", map[string]any{"key": "Bad Key", "name": "x", "variants": []map[string]any{{"key": "a", "weight": 1}}}, "VALIDATION_FAILED: "},
		{"experiments_results", map[string]any{"key": "nope", "event": "purchase"}, "EXPERIMENT_NOT_FOUND"},
	} {
		r, err := s.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Fatalf("%s: a transport failure, not a tool error: %v", c.tool, err)
		}
		if !r.IsError || len(r.Content) == 0 || !strings.Contains(r.Content[0].(*mcp.TextContent).Text, c.want) {
			t.Errorf("%s %v: IsError %v, content %v; want a tool error with %q", c.tool, c.args, r.IsError, text(r), c.want)
		}
	}
}

// call calls a tool and returns its structured result.
func call(t *testing.T, ctx context.Context, s *mcp.ClientSession, name string, args map[string]any) map[string]any {
	t.Helper()
	r, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if r.IsError {
		t.Fatalf("%s: tool error %s", name, text(r))
	}
	raw, err := json.Marshal(r.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, raw, err)
	}
	return out
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
