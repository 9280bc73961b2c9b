package adminapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/flags"
)

// Flags serves the feature flag routes with fs, and hands every other
// route to next (the rest of the admin function), as Holdouts does.
func Flags(logger *slog.Logger, fs *flags.Service, next httpapi.Handler) httpapi.Handler {
	h := &flagEdge{fs: fs}
	return layered(logger, map[string]endpoint{
		routes.AdminCreateFlag.Key():  createWith(parseNewFlag, fs.Create, flagViewOf),
		routes.AdminListFlags.Key():   h.list,
		routes.AdminGetFlag.Key():     getWith(fs.Get, flagViewOf),
		routes.AdminUpdateFlag.Key():  updateWith(flag.CheckKey, parseFlagPatch, fs.Update, flagViewOf),
		routes.AdminArchiveFlag.Key(): archiveWith(fs.Archive),
		routes.AdminFlagHistory.Key(): h.history,
	}, next)
}

type flagEdge struct{ fs *flags.Service }

// FlagView is a flag as the admin API shows it.
type FlagView struct {
	Key          string          `json:"key"`
	Description  string          `json:"description"`
	Type         flag.Type       `json:"type"`
	DefaultValue json.RawMessage `json:"default_value"`
	Enabled      bool            `json:"enabled"`
	// Rules in order, each in the shape it is defined with; a rollout
	// shows its hash_attribute ("id" by default), a rule without a
	// condition "condition": null.
	Rules     json.RawMessage `json:"rules"`
	Version   int64           `json:"version"`
	CreatedAt string          `json:"created_at"`
	CreatedBy string          `json:"created_by"`
	UpdatedAt string          `json:"updated_at"`
	UpdatedBy string          `json:"updated_by"`
}

func flagViewOf(f *flag.Flag) (FlagView, error) {
	rules, err := flag.MarshalRules(f.Rules)
	if err != nil {
		return FlagView{}, err
	}
	return FlagView{
		Key: f.Key, Description: f.Description, Type: f.Type, DefaultValue: f.DefaultValue, Enabled: f.Enabled,
		Rules: rules, Version: f.Version,
		CreatedAt: f.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: f.CreatedBy,
		UpdatedAt: f.UpdatedAt.UTC().Format(time.RFC3339Nano), UpdatedBy: f.UpdatedBy,
	}, nil
}

// respond renders a flag as answer does (OK, Created), or the error: the
// end of every route that answers one flag.

// FlagsResponse is the body of the flag listing.
type FlagsResponse struct {
	Flags      []FlagView `json:"flags"`
	NextCursor *string    `json:"next_cursor"`
}

func (h *flagEdge) list(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := h.fs.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := FlagsResponse{Flags: []FlagView{}, NextCursor: cursorOf(page.Next)}
	for _, f := range page.Items {
		v, err := flagViewOf(f)
		if err != nil {
			return httpapi.Result{}, err
		}
		out.Flags = append(out.Flags, v)
	}
	return httpapi.OK(out), nil
}

func (h *flagEdge) history(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := h.fs.History(ctx, req.PathParameters["key"], limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := HistoryResponse{History: []ChangeView{}, NextCursor: cursorOf(page.Next)}
	for _, c := range page.Items {
		out.History = append(out.History, changeViewOf(c))
	}
	return httpapi.OK(out), nil
}

func parseNewFlag(body []byte) (flags.NewInput, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "key", "description", "type", "default_value", "enabled", "rules")
	if !ok {
		return flags.NewInput{}, invalidJSON()
	}
	in := flags.NewInput{Enabled: true}
	in.Key, _ = f.str("key", true)
	in.Description, _ = f.str("description", false)
	t, _ := f.str("type", true)
	in.Type = flag.Type(t)
	if raw, ok := f.fields["default_value"]; ok {
		in.DefaultValue = flag.CompactValue(raw)
	} else {
		f.fail("default_value", "is required")
	}
	if b, ok := f.boolean("enabled"); ok {
		in.Enabled = b
	}
	if raw, ok := f.fields["rules"]; ok {
		in.Rules = flag.ParseRules(errs, "rules", raw)
	}
	return in, problems(errs, flags.CheckNew(in))
}

// fixedFlagFields are the fields a flag keeps for good.
var fixedFlagFields = map[string]string{
	"key":  "cannot be changed",
	"type": "cannot be changed: apps read the flag as this type; create a new flag",
}

func parseFlagPatch(body []byte) (flags.Patch, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "version", "description", "default_value", "enabled", "rules", "key", "type")
	if !ok {
		return flags.Patch{}, invalidJSON()
	}
	for name, msg := range fixedFlagFields {
		if f.has(name) {
			f.fail(name, msg)
		}
	}
	var p flags.Patch
	p.Version = f.integer("version")
	if s, ok := f.str("description", false); ok {
		p.Description = &s
	}
	if raw, ok := f.fields["default_value"]; ok {
		v := flag.CompactValue(raw)
		p.DefaultValue = &v
	}
	if b, ok := f.boolean("enabled"); ok {
		p.Enabled = &b
	}
	if raw, ok := f.fields["rules"]; ok {
		rules := flag.ParseRules(errs, "rules", raw)
		p.Rules = &rules
	}
	rules := flags.CheckPatch(p)
	if len(f.fields) > 1 && rules["enabled"] != "" && p.Enabled == nil {
		// Every other field sent is unknown, fixed or undecodable, and says so.
		delete(rules, "enabled")
	}
	return p, problems(errs, rules)
}

// boolean reads an optional boolean field.
func (f *form) boolean(name string) (bool, bool) {
	raw, ok := f.fields[name]
	if !ok {
		return false, false
	}
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		f.fail(name, "must be true or false")
		return false, false
	}
	return b, true
}
