package mcpapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// VariantInput is one variant of an experiment.
type VariantInput struct {
	Key    string   `json:"key" jsonschema:"the variant's key: lower-case letters, digits, _ and -, starting with a letter or digit, at most 64 characters (e.g. control, green_button)"`
	Weight *float64 `json:"weight,omitempty" jsonschema:"the variant's share of newly enrolled users relative to the other variants' weights: 1 and 1 split 50/50, 1 and 3 split 25/75; 0 stops new assignments to it. Required when creating; left out in an update it stays as it is"`
	// Payload is any JSON value.
	Payload any `json:"payload,omitempty" jsonschema:"any JSON the application reads for this variant (a colour, a text, a config object); left out: none (in an update: unchanged)"`
}

// Targeting are the optional fields of who enrols.
type Targeting struct {
	Condition map[string]any `json:"condition,omitempty" jsonschema:"who may enrol: a condition in GrowthBook's condition language on the attributes the application sends with an assignment, e.g. {\"country\": \"US\"} or {\"plan\": {\"$in\": [\"pro\", \"team\"]}}; left out: everyone"`
	Coverage  *float64       `json:"coverage,omitempty" jsonschema:"the share of targeted users enrolled, more than 0 and at most 1 (default 1); raising it later enrols more users without moving anyone"`
}

// CreateInput creates an experiment.
type CreateInput struct {
	Key         string         `json:"key" jsonschema:"the experiment's unique key, used by the application to ask for a variant: lower-case letters, digits, _ and -, at most 64 characters; never reusable"`
	Name        string         `json:"name" jsonschema:"a short human name"`
	Description string         `json:"description,omitempty" jsonschema:"what the experiment tests and why"`
	Variants    []VariantInput `json:"variants" jsonschema:"2 to 20 variants. The FIRST variant is the control: results compare every other variant with it"`
	Events      []string       `json:"events,omitempty" jsonschema:"the conversion event names results can be read on (e.g. purchase, signup); an experiment counts only the events it declares"`
	Start       bool           `json:"start,omitempty" jsonschema:"true creates it active (users enrol at once); false (default) creates a draft, started later with experiments_start"`
	Targeting
}

// KeyInput names one experiment.
type KeyInput struct {
	Key string `json:"key" jsonschema:"the experiment's key"`
}

// ListInput lists experiments.
type ListInput struct {
	Status string `json:"status,omitempty" jsonschema:"only experiments in this status: draft, active, paused or ended; left out: all"`
	Limit  int    `json:"limit,omitempty" jsonschema:"how many per page, 1 to 100 (default 20)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"the next_cursor of the previous page, to read the next one"`
}

// UpdateInput changes an experiment.
type UpdateInput struct {
	Key         string         `json:"key" jsonschema:"the experiment's key"`
	Version     int64          `json:"version,omitempty" jsonschema:"the version you read (experiments_get): the change fails with VERSION_CONFLICT if someone changed it since; left out, the current version is used"`
	Name        *string        `json:"name,omitempty" jsonschema:"a new name"`
	Description *string        `json:"description,omitempty" jsonschema:"a new description"`
	Variants    []VariantInput `json:"variants,omitempty" jsonschema:"the full new list of variants, in order (the control stays first); each is merged by key with the current one, so a weight alone re-weights it. Re-weighting affects only users enrolled later. A variant with users cannot be removed: set its weight to 0"`
	Events      []string       `json:"events,omitempty" jsonschema:"the full new list of conversion events"`
	Targeting
}

// ResultsInput reads results.
type ResultsInput struct {
	Key   string `json:"key" jsonschema:"the experiment's key"`
	Event string `json:"event" jsonschema:"the conversion event to judge on: one of the experiment's events"`
}

// ListOutput is one page of experiments.
type ListOutput struct {
	Experiments []adminapi.ExperimentView   `json:"experiments"`
	NextCursor  string                      `json:"next_cursor,omitempty"`
	Totals      map[experiment.Status]int64 `json:"totals"`
}

// ResultsOutput is an experiment's results with a sentence per variant.
type ResultsOutput struct {
	results.Report
	Summary []string `json:"summary"`
}

// DeleteOutput says an experiment was archived.
type DeleteOutput struct {
	Key      string `json:"key"`
	Archived bool   `json:"archived"`
}

func (t *tools) register(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "experiments_create", Description: "Create an A/B experiment: a key, a name, two or more weighted variants (the first is the control) and the conversion events to judge it on. It is a draft unless start is true."}, t.create)
	mcp.AddTool(s, &mcp.Tool{Name: "experiments_list", Description: "List experiments, newest first, with how many are in each status. Page with cursor."}, t.list)
	mcp.AddTool(s, &mcp.Tool{Name: "experiments_get", Description: "Read one experiment: its status, variants with their weights and assigned users, events, targeting and version."}, t.get)
	mcp.AddTool(s, &mcp.Tool{Name: "experiments_update", Description: "Change an experiment's name, description, variants (weights, payloads, new variants), events or targeting. Only the fields given change."}, t.update)
	mcp.AddTool(s, &mcp.Tool{Name: "experiments_delete", Description: "Archive an experiment for good: it stops enrolling, is no longer listed or readable, and its key is never reused. Prefer experiments_end to stop an experiment and keep its results."}, t.delete)
	mcp.AddTool(s, &mcp.Tool{Name: "experiments_results", Description: "Judge an experiment on one conversion event: for each variant, users exposed, users converted, conversion rate, lift over the control (0.05 = 5% better) and a two-sided p-value from a two-proportion z-test against the control: the chance of a difference at least this large if the variant changed nothing. Below 0.05 is called significant. Counts follow the application's exposures and events a few seconds behind."}, t.results)
	for _, a := range []struct {
		action experiment.Action
		desc   string
	}{
		{experiment.Start, "Start a draft experiment: from now on users asking for it are assigned a variant by weight."},
		{experiment.Pause, "Pause an active experiment: no new users enrol; users already assigned keep their variant."},
		{experiment.Resume, "Resume a paused experiment."},
		{experiment.End, "End an experiment for good: no new users enrol; its results stay readable."},
	} {
		mcp.AddTool(s, &mcp.Tool{Name: "experiments_" + string(a.action), Description: a.desc}, t.transition(a.action))
	}
}

func (t *tools) create(ctx context.Context, req *mcp.CallToolRequest, in CreateInput) (*mcp.CallToolResult, any, error) {
	problems := experiment.Problems{}
	nin := experiments.NewInput{Key: in.Key, Name: in.Name, Description: in.Description, Events: in.Events, Status: experiment.Draft,
		Targeting: targeting(problems, in.Targeting)}
	if in.Start {
		nin.Status = experiment.Active
	}
	for i, v := range in.Variants {
		if v.Weight == nil {
			problems[fmt.Sprintf("variants[%d].weight", i)] = "is required"
		}
		nin.Variants = append(nin.Variants, experiment.Variant{Key: v.Key, Weight: deref(v.Weight), Payload: payload(v.Payload)})
	}
	if err := invalid(problems); err != nil {
		return nil, nil, toolError(err)
	}
	x, err := t.exps.Create(ctx, t.by(ctx, req), nin)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return nil, view(x, nil), nil
}

func (t *tools) list(ctx context.Context, _ *mcp.CallToolRequest, in ListInput) (*mcp.CallToolResult, any, error) {
	limit := in.Limit
	if limit == 0 {
		limit = adminapi.DefaultLimit
	}
	if limit < 1 || limit > adminapi.MaxLimit {
		return nil, nil, toolError(invalid(experiment.Problems{"limit": fmt.Sprintf("must be from 1 to %d", adminapi.MaxLimit)}))
	}
	page, totals, err := t.exps.List(ctx, experiment.Status(in.Status), limit, in.Cursor)
	if err != nil {
		return nil, nil, toolError(err)
	}
	out := ListOutput{Experiments: []adminapi.ExperimentView{}, NextCursor: page.Next, Totals: totals}
	for _, x := range page.Items {
		out.Experiments = append(out.Experiments, view(x, nil))
	}
	return nil, out, nil
}

func (t *tools) get(ctx context.Context, _ *mcp.CallToolRequest, in KeyInput) (*mcp.CallToolResult, any, error) {
	x, agg, err := t.exps.Get(ctx, in.Key)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return nil, view(x, &agg), nil
}

func (t *tools) update(ctx context.Context, req *mcp.CallToolRequest, in UpdateInput) (*mcp.CallToolResult, any, error) {
	problems := experiment.Problems{}
	p := experiments.Patch{Version: in.Version, Name: in.Name, Description: in.Description, Targeting: targeting(problems, in.Targeting)}
	if in.Events != nil {
		p.Events = &in.Events
	}
	if in.Variants != nil {
		p.Variants = []experiments.VariantPatch{}
		for _, v := range in.Variants {
			vp := experiments.VariantPatch{Key: v.Key, Weight: v.Weight}
			if v.Payload != nil {
				raw := payload(v.Payload)
				vp.Payload = &raw
			}
			p.Variants = append(p.Variants, vp)
		}
	}
	if err := invalid(problems); err != nil {
		return nil, nil, toolError(err)
	}
	if p.Version == 0 {
		current, _, err := t.exps.Get(ctx, in.Key)
		if err != nil {
			return nil, nil, toolError(err)
		}
		p.Version = current.Version
	}
	x, err := t.exps.Update(ctx, t.by(ctx, req), in.Key, p)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return nil, view(x, nil), nil
}

func (t *tools) delete(ctx context.Context, req *mcp.CallToolRequest, in KeyInput) (*mcp.CallToolResult, any, error) {
	if err := t.exps.Archive(ctx, t.by(ctx, req), in.Key); err != nil {
		return nil, nil, toolError(err)
	}
	return nil, DeleteOutput{Key: in.Key, Archived: true}, nil
}

func (t *tools) transition(action experiment.Action) mcp.ToolHandlerFor[KeyInput, any] {
	return func(ctx context.Context, req *mcp.CallToolRequest, in KeyInput) (*mcp.CallToolResult, any, error) {
		x, err := t.exps.Transition(ctx, t.by(ctx, req), in.Key, action)
		if err != nil {
			return nil, nil, toolError(err)
		}
		return nil, view(x, nil), nil
	}
}

// Alpha is the significance level the summary judges against.
const Alpha = 0.05

func (t *tools) results(ctx context.Context, _ *mcp.CallToolRequest, in ResultsInput) (*mcp.CallToolResult, any, error) {
	r, err := t.res.Results(ctx, in.Key, in.Event)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return nil, ResultsOutput{Report: r, Summary: summary(r)}, nil
}

// summary says in words what each variant's row means.
func summary(r results.Report) []string {
	out := []string{}
	for _, v := range r.Variants {
		rate := "no exposed users yet"
		if v.ConversionRate != nil {
			rate = fmt.Sprintf("%d of %d exposed users converted (%.2f%%)", v.ConvertedCount, v.ExposedCount, *v.ConversionRate*100)
		}
		switch {
		case v.IsControl:
			out = append(out, fmt.Sprintf("%s (control): %s.", v.Variant, rate))
		case v.PValue == nil || v.Lift == nil:
			out = append(out, fmt.Sprintf("%s: %s; not enough data to compare with the control.", v.Variant, rate))
		default:
			verdict := "not significant"
			if *v.PValue < Alpha {
				verdict = "significant"
			}
			out = append(out, fmt.Sprintf("%s: %s; lift %+.2f%% over the control, p-value %.4f: %s at %.2f.", v.Variant, rate, *v.Lift*100, *v.PValue, verdict, Alpha))
		}
	}
	return out
}

// targeting turns the tool's targeting fields into the use case's,
// compiling the condition (its problems go to problems).
func targeting(problems experiment.Problems, in Targeting) experiments.Targeting {
	var t experiments.Targeting
	if in.Condition != nil {
		t.Condition = experiment.CompileCondition(problems, must(json.Marshal(in.Condition)))
	}
	t.Coverage = in.Coverage
	return t
}

func payload(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	return must(json.Marshal(v))
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}
