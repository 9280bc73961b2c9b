// Package mcpapi is the MCP edge: tools an AI agent calls to create,
// read, change and judge experiments (experiments_create, _list, _get,
// _update, _delete, _start, _pause, _resume, _end, _results). The tools call
// the experiments and results use cases through the small interfaces below,
// never the HTTP handlers: the Lambda function binds them to the use cases,
// and the CLI's stdio server (abtest mcp) binds them to adminclient, which
// reaches a deployment's admin API. Tool errors are MCP tool errors
// (IsError) carrying the API's code and message.
package mcpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// Experiments is what the tools need of the experiments use case
// (experiments.Service satisfies it).
type Experiments interface {
	Create(ctx context.Context, by string, in experiments.NewInput) (*experiment.Experiment, error)
	Get(ctx context.Context, key string) (*experiment.Experiment, experiment.Aggregates, error)
	List(ctx context.Context, status experiment.Status, limit int, cursor string) (store.Page[*experiment.Experiment], map[experiment.Status]int64, error)
	Update(ctx context.Context, by, key string, p experiments.Patch) (*experiment.Experiment, error)
	Transition(ctx context.Context, by, key string, action experiment.Action) (*experiment.Experiment, error)
	Archive(ctx context.Context, by, key string) error
}

// Results is what the tools need of the results use case (results.Service
// satisfies it).
type Results interface {
	Results(ctx context.Context, key, event string) (results.Report, error)
}

// Caller says who calls a tool, for the audit trail (an admin key id).
type Caller func(ctx context.Context, req *mcp.CallToolRequest) string

// Name and Version identify the server to clients.
const Name = "abtest"

// NewServer returns an MCP server with the experiment tools on exps and res.
func NewServer(version string, exps Experiments, res Results, caller Caller) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: Name, Title: "abtest experiments", Version: version}, &mcp.ServerOptions{
		Instructions: instructions,
	})
	t := &tools{exps: exps, res: res, caller: caller}
	t.register(s)
	return s
}

const instructions = `Server-side A/B experiments. An experiment splits units (signed-in users)
between variants by weight; the first variant is the control. Create it (draft), start it,
let the application assign and expose users and send conversion events, then read results
on one of the experiment's events: each variant's conversion rate among exposed users,
its lift over the control and a two-sided p-value. Pause, resume and end change what new
users get; delete archives the experiment for good.`

type tools struct {
	exps   Experiments
	res    Results
	caller Caller
}

// toolError is what an agent sees of a failure: the API's code and
// message, and the fields at fault. Anything else is a dependency failure
// whose text stays out (as in the HTTP API's 5xx).
func toolError(err error) error {
	f, ok := fault.As(err)
	if !ok || f.Kind == fault.Internal {
		return errors.New("INTERNAL: internal error; the request was not completed")
	}
	msg := f.Code + ": " + f.Message
	if fields, ok := f.Details["fields"]; ok {
		if b, err := json.Marshal(fields); err == nil {
			msg += " fields: " + string(b)
		}
	}
	return errors.New(msg)
}

func view(e *experiment.Experiment, agg *experiment.Aggregates) adminapi.ExperimentView {
	return adminapi.ExperimentViewOf(e, agg)
}

func invalid(problems experiment.Problems) error {
	if len(problems) == 0 {
		return nil
	}
	return fault.Validation(problems)
}

func (t *tools) by(ctx context.Context, req *mcp.CallToolRequest) string {
	if t.caller == nil {
		return "mcp"
	}
	return t.caller(ctx, req)
}

func must(b []byte, err error) json.RawMessage {
	if err != nil {
		panic(fmt.Sprintf("mcpapi: %v", err))
	}
	return b
}
