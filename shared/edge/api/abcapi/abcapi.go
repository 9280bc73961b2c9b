// Package abcapi serves ABetterChoice's HTTP API (POST /abc/get_experiments
// and /abc/get_feature_flags) over the one-call evaluation use case
// (shared/usecase/evaluation), so a backend that calls ABetterChoice
// switches by changing the base URL, the key name (X-Ak: a server key's
// id) and the token (the key's signing token).
//
// Mapping: unit_id is the unit, as a user id for experiments bucketed by
// user and as a device id for those bucketed by device; profiles are the
// targeting attributes, one value as a string, several as a list of
// strings ($in and $elemMatch match them); project_id must be this
// deployment's (ABC_PROJECT_ID, "abtest" unless set). exp_data is keyed by
// layer, an experiment outside any layer by its own key.
//
// get_experiments enrols and records an exposure of every real assignment
// it answers (group_id != -1), at most one per unit, experiment and UTC day
// (the evaluation's tracking). get_feature_flags enrols through flags'
// experiment rules and records no exposure, as ABetterChoice documents.
//
// The signature is verified by the authorizer; this edge refuses a replay:
// the (key, time, signature) of every request is claimed once in the table,
// the item expiring by TTL after the window.
package abcapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/edge/api/evaluateapi"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/evaluation"
)

// ABetterChoice's ret_code values.
const (
	RetSuccess         = 100
	RetNoPermission    = 101
	RetTrafficLimit    = 102
	RetProjectRequired = 103
	RetServerError     = 104
)

// EnvProjectID names this deployment's project; DefaultProjectID unless set.
const (
	EnvProjectID     = "ABC_PROJECT_ID"
	DefaultProjectID = "abtest"
)

// Codes of this edge's refusals (in the logs; the body carries ret_code).
const (
	CodeProjectRequired = "PROJECT_ID_REQUIRED"
	CodeWrongProject    = "WRONG_PROJECT"
	CodeReplayed        = "REPLAYED_REQUEST"
)

// replayHold is how long a claimed signature is kept: the window either
// side of its time, and the authorizer's answer cache beyond it.
const replayHold = 2*apikey.SignatureWindow + 5*time.Minute

// Definitions serves the experiment definitions (layer filters, payloads).
type Definitions interface {
	Live(ctx context.Context) ([]*experiment.Experiment, error)
	Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error)
}

// Signatures claims a signed request once (store.ErrExists: a replay).
type Signatures interface {
	ClaimSignature(ctx context.Context, keyID string, et int64, sig string, expires time.Time) error
}

// Group is one layer's answer.
type Group struct {
	ExperimentKey string            `json:"experiment_key"`
	GroupID       int64             `json:"group_id"`
	GroupKey      string            `json:"group_key"`
	Params        map[string]string `json:"params"`
}

// ExperimentsResponse is the body of get_experiments.
type ExperimentsResponse struct {
	RetCode int              `json:"ret_code"`
	Msg     string           `json:"msg"`
	ExpData map[string]Group `json:"exp_data"`
}

// Feature is one flag's answer.
type Feature struct {
	Name               string    `json:"name"`
	Value              string    `json:"value"`
	RelativeExperiment *Relative `json:"relative_experiment"`
}

// Relative is the experiment that decided a flag's value.
type Relative struct {
	GroupID  int64             `json:"group_id"`
	GroupKey string            `json:"group_key"`
	ExpKey   string            `json:"exp_key"`
	Params   map[string]string `json:"params"`
}

// FlagsResponse is the body of get_feature_flags.
type FlagsResponse struct {
	RetCode int                `json:"ret_code"`
	Msg     string             `json:"msg"`
	Data    map[string]Feature `json:"data"`
}

// Failure is the body of a refusal with an ABetterChoice ret_code.
type Failure struct {
	RetCode int    `json:"ret_code"`
	Msg     string `json:"msg"`
}

// request is the body of both routes.
type request struct {
	ProjectID     string             `json:"project_id"`
	UnitID        string             `json:"unit_id"`
	Profiles      map[string]profile `json:"profiles"`
	FeatureNames  []string           `json:"feature_names"`
	FilterOptions struct {
		LayerKeys      []string `json:"layer_keys"`
		ExperimentKeys []string `json:"experiment_keys"`
	} `json:"filter_options"`
}

type profile struct {
	UserAttrs []string `json:"user_attrs"`
}

type edge struct {
	logger  *slog.Logger
	uc      *evaluation.Service
	defs    Definitions
	sigs    Signatures
	project string
	now     func() time.Time
}

// New returns the handler of both routes.
func New(logger *slog.Logger, uc *evaluation.Service, defs Definitions, sigs Signatures, project string, now func() time.Time) httpapi.Handler {
	e := &edge{logger: logger, uc: uc, defs: defs, sigs: sigs, project: project, now: now}
	return httpapi.PublicEndpoint(logger, evaluation.CodeFailed, func(ctx context.Context, req httpapi.Request) (httpapi.Result, error) {
		res, err := e.serve(ctx, req)
		if err != nil {
			return e.failure(ctx, req, err)
		}
		return res, nil
	})
}

// serve authorizes (the authorizer's answer, then the replay claim) and
// answers the route.
func (e *edge) serve(ctx context.Context, req httpapi.Request) (httpapi.Result, error) {
	caller, err := httpapi.Authorize(req, apikey.RoleServer)
	if err != nil {
		return httpapi.Result{}, err
	}
	if err := e.claim(ctx, req, caller); err != nil {
		return httpapi.Result{}, err
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	var in request
	if err := httpapi.DecodeObject(body, &in, false); err != nil {
		return httpapi.Result{}, err
	}
	if strings.TrimSpace(in.ProjectID) == "" {
		return httpapi.Result{}, fault.New(fault.Invalid, CodeProjectRequired, "project_id is required")
	}
	if in.ProjectID != e.project {
		return httpapi.Result{}, fault.New(fault.Forbidden, CodeWrongProject, "project_id does not name this deployment")
	}
	if in.UnitID == "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"unit_id": "is required"})
	}
	r := evaluation.Request{Identity: experiment.Identity{UserID: in.UnitID, DeviceID: in.UnitID}, Attributes: attributesOf(in.Profiles), Enroll: true}
	if req.RouteKey == routes.ABCFeatureFlags.Key() {
		return e.featureFlags(ctx, r, in)
	}
	return e.experiments(ctx, r, in)
}

// claim refuses a signed request seen before: the authorizer checked the
// signature and the time (its answer may be cached), the table settles
// whether this exact request was served.
func (e *edge) claim(ctx context.Context, req httpapi.Request, caller httpapi.Caller) error {
	at, ok := apikey.SignedAt(req.Headers[auth.HeaderSignedTime], e.now())
	if !ok {
		return fault.New(fault.Unauthenticated, fault.CodeUnauthenticated, "X-Et must be unix seconds within 5 minutes of the server's time")
	}
	sig := strings.ToLower(req.Headers[auth.HeaderSignature])
	err := e.sigs.ClaimSignature(ctx, caller.KeyID, at.Unix(), sig, at.Add(replayHold))
	if errors.Is(err, store.ErrExists) {
		return fault.New(fault.Unauthenticated, CodeReplayed, "this signed request was already served")
	}
	return err
}

func (e *edge) experiments(ctx context.Context, r evaluation.Request, in request) (httpapi.Result, error) {
	scope, layers, err := e.scope(ctx, in.FilterOptions.LayerKeys, in.FilterOptions.ExperimentKeys)
	if err != nil {
		return httpapi.Result{}, err
	}
	r.Experiments, r.Flags, r.Track = scope, []string{}, true
	ans, err := e.uc.Evaluate(ctx, r)
	if err != nil {
		return httpapi.Result{}, err
	}
	out := ExperimentsResponse{RetCode: RetSuccess, ExpData: map[string]Group{}}
	for _, l := range layers {
		out.ExpData[l] = defaultGroup()
	}
	for k, x := range ans.Experiments {
		layer := x.Layer
		if layer == "" {
			layer = k
		}
		if x.InExperiment {
			out.ExpData[layer] = Group{ExperimentKey: k, GroupID: GroupID(k, x.Variant), GroupKey: x.Variant, Params: paramsOf(x.Payload)}
		} else if _, ok := out.ExpData[layer]; !ok {
			out.ExpData[layer] = defaultGroup()
		}
	}
	return httpapi.OK(out), nil
}

// scope is the experiments to evaluate (nil: all) and the layers asked for
// by name, which answer "default" when no experiment of theirs does.
func (e *edge) scope(ctx context.Context, layerKeys, experimentKeys []string) ([]string, []string, error) {
	if layerKeys == nil {
		return experimentKeys, nil, nil
	}
	live, err := e.defs.Live(ctx)
	if err != nil {
		return nil, nil, err
	}
	keys := []string{}
	for _, x := range live {
		layer := x.Key
		if x.Layer != nil {
			layer = x.Layer.Key
		}
		if slices.Contains(layerKeys, layer) && (experimentKeys == nil || slices.Contains(experimentKeys, x.Key)) {
			keys = append(keys, x.Key)
		}
	}
	return keys, layerKeys, nil
}

func (e *edge) featureFlags(ctx context.Context, r evaluation.Request, in request) (httpapi.Result, error) {
	if len(in.FeatureNames) == 0 {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"feature_names": "must name at least one feature flag"})
	}
	r.Experiments, r.Flags = []string{}, in.FeatureNames
	ans, err := e.uc.Evaluate(ctx, r)
	if err != nil {
		return httpapi.Result{}, err
	}
	out := FlagsResponse{RetCode: RetSuccess, Data: map[string]Feature{}}
	for k, f := range ans.Flags {
		ft := Feature{Name: k, Value: httpapi.JSONText(f.Value)}
		if f.Source == flag.SourceExperiment {
			x, err := e.defs.Get(ctx, f.Experiment, experiment.HasVariant(f.Variant))
			if err != nil {
				return httpapi.Result{}, err
			}
			v, _ := x.Variant(f.Variant)
			ft.RelativeExperiment = &Relative{GroupID: GroupID(f.Experiment, f.Variant), GroupKey: f.Variant, ExpKey: f.Experiment, Params: paramsOf(v.Payload)}
		}
		out.Data[k] = ft
	}
	return httpapi.OK(out), nil
}

// failure answers a refusal or failure: ABetterChoice's ret_code where it
// has one (credentials and project 101, traffic 102, project id 103, server
// 104), the service's error body for other bad input.
func (e *edge) failure(ctx context.Context, req httpapi.Request, err error) (httpapi.Result, error) {
	var f *fault.Error
	if !errors.As(err, &f) || f.Kind == fault.Internal {
		e.logger.ErrorContext(ctx, "abc request failed", "route", req.RouteKey, "request_id", req.RequestContext.RequestID, "error", err.Error())
		return httpapi.Result{Status: http.StatusInternalServerError, Body: Failure{RetCode: RetServerError, Msg: "server error"}}, nil
	}
	switch {
	case f.Kind == fault.Unauthenticated || f.Kind == fault.Forbidden:
		return httpapi.Result{Status: httpapi.Status(f.Kind), Body: Failure{RetCode: RetNoPermission, Msg: f.Message}}, nil
	case f.Code == CodeProjectRequired:
		return httpapi.Result{Status: http.StatusBadRequest, Body: Failure{RetCode: RetProjectRequired, Msg: f.Message}}, nil
	case f.Kind == fault.Unavailable:
		return httpapi.Result{Status: httpapi.Status(f.Kind), Body: Failure{RetCode: RetTrafficLimit, Msg: f.Message}}, nil
	}
	return httpapi.Result{}, err
}

func defaultGroup() Group {
	return Group{ExperimentKey: "default", GroupID: -1, GroupKey: "default", Params: map[string]string{}}
}

// attributesOf maps profiles to attributes: one value as a string, several
// as a list of strings, none left out.
func attributesOf(profiles map[string]profile) map[string]any {
	if len(profiles) == 0 {
		return nil
	}
	out := make(map[string]any, len(profiles))
	for k, p := range profiles {
		switch len(p.UserAttrs) {
		case 0:
		case 1:
			out[k] = p.UserAttrs[0]
		default:
			vs := make([]any, len(p.UserAttrs))
			for i, v := range p.UserAttrs {
				vs[i] = v
			}
			out[k] = vs
		}
	}
	return out
}

// paramsOf is a payload's top-level fields as strings (ABetterChoice's HTTP
// params are always strings); a payload that is not an object has none.
func paramsOf(payload json.RawMessage) map[string]string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(payload, &fields) != nil || fields == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		out[k] = httpapi.JSONText(v)
	}
	return out
}

// Wire builds the handler on the evaluation use case as the evaluate
// function wires it.
func Wire(d lambdafn.Deps) httpapi.Handler {
	project := os.Getenv(EnvProjectID)
	if project == "" {
		project = DefaultProjectID
	}
	return New(d.Logger, evaluateapi.UseCase(d), d.Definitions, d.Store, project, d.Now)
}
