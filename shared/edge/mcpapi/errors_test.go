package mcpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/mcpapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// failing answers every call with err.
type failing struct{ err error }

func (f failing) Create(context.Context, string, experiments.NewInput) (*experiment.Experiment, error) {
	return nil, f.err
}
func (f failing) Get(context.Context, string) (*experiment.Experiment, experiment.Aggregates, error) {
	return nil, experiment.Aggregates{}, f.err
}
func (f failing) List(context.Context, experiment.Status, int, string) (store.Page[*experiment.Experiment], map[experiment.Status]int64, error) {
	return store.Page[*experiment.Experiment]{}, nil, f.err
}
func (f failing) Update(context.Context, string, string, experiments.Patch) (*experiment.Experiment, error) {
	return nil, f.err
}
func (f failing) Transition(context.Context, string, string, experiment.Action) (*experiment.Experiment, error) {
	return nil, f.err
}
func (f failing) Archive(context.Context, string, string) error { return f.err }
func (f failing) Results(context.Context, string, string) (results.Report, error) {
	return results.Report{}, f.err
}

// TestToolErrors: a refusal is a tool error with its code, message and
// fields; a dependency failure says INTERNAL and never its text.
func TestToolErrors(t *testing.T) {
	cases := []struct {
		err  error
		want string
		not  string
	}{
		{fault.New(fault.Conflict, experiment.CodeInvalidTransition, "cannot start an experiment that is ended"), "INVALID_TRANSITION: cannot start an experiment that is ended", ""},
		{fault.Validation(experiment.Problems{"name": "is required"}), `fields: {"name":"is required"}`, ""},
		{errors.New("dial tcp 10.0.0.7:443: connection refused"), "INTERNAL: internal error", "10.0.0.7"},
	}
	for _, c := range cases {
		f := failing{c.err}
		server := mcpapi.NewServer("test", f, f, nil)
		st, ct := mcp.NewInMemoryTransports()
		ctx := context.Background()
		ss, err := server.Connect(ctx, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"experiments_start", "experiments_get", "experiments_delete"} {
			r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"key": "k"}})
			if err != nil {
				t.Fatalf("%s: %v", tool, err)
			}
			text := r.Content[0].(*mcp.TextContent).Text
			if !r.IsError || !strings.Contains(text, c.want) || (c.not != "" && strings.Contains(text, c.not)) {
				t.Errorf("%s with %v: IsError %v, %q", tool, c.err, r.IsError, text)
			}
		}
		cs.Close()
		ss.Close()
	}
}
