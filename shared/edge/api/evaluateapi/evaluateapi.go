// Package evaluateapi is the HTTP edge of one-call evaluation
// (shared/usecase/evaluation): POST and GET /v1/client/evaluate for an app
// acting for its signed-in user (and the device in X-Device-Id), and POST
// /v1/server/evaluate for a backend acting for any unit.
package evaluateapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/evaluation"
	"github.com/abtest/abtest/shared/usecase/exposure"
)

// DefaultCacheSeconds is the max-age of a GET answer's Cache-Control
// (private: per user), unless the function's EVALUATE_CACHE_SECONDS says
// otherwise. It matches the definitions' staleness bound in spirit: a
// cached answer is at most this much older than the definitions it came
// from.
const DefaultCacheSeconds = 30

// Response is the body of a 200.
type Response struct {
	Unit        Unit                  `json:"unit"`
	Experiments map[string]Experiment `json:"experiments"`
	Flags       map[string]Flag       `json:"flags"`
	Missing     []string              `json:"missing"`
}

// Unit names the unit evaluated.
type Unit struct {
	UserID   *string `json:"user_id"`
	DeviceID *string `json:"device_id"`
}

// Experiment is one experiment's answer.
type Experiment struct {
	Variant      string          `json:"variant"`
	Payload      json.RawMessage `json:"payload"`
	InExperiment bool            `json:"in_experiment"`
	Reason       string          `json:"reason"`
	Layer        *string         `json:"layer"`
}

// Flag is one flag's answer.
type Flag struct {
	Value      json.RawMessage `json:"value"`
	Source     string          `json:"source"`
	Experiment *string         `json:"experiment"`
	Variant    *string         `json:"variant"`
}

// New returns the handler of the three evaluate routes; cacheSeconds is
// the GET answer's max-age.
func New(logger *slog.Logger, uc *evaluation.Service, cacheSeconds int) httpapi.Handler {
	client := httpapi.Endpoint(logger, evaluation.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			who, err := httpapi.Identity(req, caller)
			if err != nil {
				return httpapi.Result{}, err
			}
			r := evaluation.Request{Identity: who}
			if req.RouteKey == routes.ClientEvaluateRead.Key() {
				if err := fromQuery(req, &r); err != nil {
					return httpapi.Result{}, err
				}
				ans, err := uc.Evaluate(ctx, r)
				res := httpapi.OK(responseOf(ans))
				res.Headers = map[string]string{"cache-control": fmt.Sprintf("private, max-age=%d", cacheSeconds)}
				return res, err
			}
			var in clientBody
			if err := decode(req, &in); err != nil {
				return httpapi.Result{}, err
			}
			if err := in.fill(&r); err != nil {
				return httpapi.Result{}, err
			}
			r.Enroll = true
			ans, err := uc.Evaluate(ctx, r)
			return httpapi.OK(responseOf(ans)), err
		})
	server := httpapi.Endpoint(logger, evaluation.CodeFailed, apikey.RoleServer,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			var in serverBody
			if err := decode(req, &in); err != nil {
				return httpapi.Result{}, err
			}
			r := evaluation.Request{Enroll: true}
			r.UserID, r.DeviceID = in.UserID, in.DeviceID
			if err := in.fill(&r); err != nil {
				return httpapi.Result{}, err
			}
			ans, err := uc.Evaluate(ctx, r)
			return httpapi.OK(responseOf(ans)), err
		})
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		if req.RouteKey == routes.ServerEvaluate.Key() {
			return server(ctx, req)
		}
		return client(ctx, req)
	}
}

// clientBody is the body of POST /v1/client/evaluate.
type clientBody struct {
	Attributes  json.RawMessage `json:"attributes"`
	Experiments *[]string       `json:"experiments"`
	Flags       *[]string       `json:"flags"`
	Track       bool            `json:"track"`
}

// serverBody is the body of POST /v1/server/evaluate: the client body and
// the unit's ids.
type serverBody struct {
	clientBody
	UserID   string `json:"user_id"`
	DeviceID string `json:"device_id"`
}

func decode(req httpapi.Request, dst any) error {
	body, err := httpapi.Body(req)
	if err != nil {
		return err
	}
	if httpapi.IsEmptyBody(body) {
		return nil
	}
	return httpapi.DecodeObject(body, dst, true)
}

// fill copies the body's fields into r.
func (in clientBody) fill(r *evaluation.Request) error {
	if t := httpapi.TrimJSONSpace(in.Attributes); len(t) > 0 && string(t) != "null" {
		attrs, err := httpapi.Attributes(string(t))
		if err != nil {
			return err
		}
		r.Attributes = attrs
	}
	if in.Experiments != nil {
		r.Experiments = nonNil(*in.Experiments)
	}
	if in.Flags != nil {
		r.Flags = nonNil(*in.Flags)
	}
	r.Track = in.Track
	return nil
}

// nonNil keeps an empty list empty: "experiments": [] asks for none, not all.
func nonNil(keys []string) []string {
	if keys == nil {
		return []string{}
	}
	return keys
}

// fromQuery reads GET's attributes, experiments=a,b and flags=f.
func fromQuery(req httpapi.Request, r *evaluation.Request) error {
	attrs, err := httpapi.QueryAttributes(req)
	if err != nil {
		return err
	}
	r.Attributes = attrs
	q := req.QueryStringParameters
	if v, ok := q["experiments"]; ok {
		r.Experiments = List(v)
	}
	if v, ok := q["flags"]; ok {
		r.Flags = List(v)
	}
	if v, ok := q["track"]; ok && v != "false" {
		return fault.Validation(map[string]string{"track": "GET never tracks: use POST with \"track\": true"})
	}
	return nil
}

// List splits a comma-separated list of keys ("a, b,,c" -> a b c).
func List(v string) []string {
	out := []string{}
	for _, k := range strings.Split(v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func responseOf(a evaluation.Answer) Response {
	resp := Response{Unit: Unit{UserID: opt(a.Unit.UserID), DeviceID: opt(a.Unit.DeviceID)},
		Experiments: make(map[string]Experiment, len(a.Experiments)), Flags: make(map[string]Flag, len(a.Flags)), Missing: a.Missing}
	if resp.Missing == nil {
		resp.Missing = []string{}
	}
	for k, e := range a.Experiments {
		resp.Experiments[k] = Experiment{Variant: e.Variant, Payload: e.Payload, InExperiment: e.InExperiment, Reason: string(e.Reason), Layer: opt(e.Layer)}
	}
	for k, f := range a.Flags {
		resp.Flags[k] = Flag{Value: f.Value, Source: string(f.Source), Experiment: opt(f.Experiment), Variant: opt(f.Variant)}
	}
	return resp
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EnvCacheSeconds sets the GET answer's max-age (seconds; 0 forbids caching).
const EnvCacheSeconds = "EVALUATE_CACHE_SECONDS"

// Wire builds the handler of the evaluate function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, UseCase(d), cacheSeconds(d.Logger))
}

// UseCase builds the evaluation use case on d: the one evaluation path,
// which the vendors' drop-in edges wire too.
func UseCase(d lambdafn.Deps) *evaluation.Service {
	assign := assignment.New(d.Definitions, d.Store).WithHoldouts(d.Holdouts, d.Store)
	if d.Groups != nil {
		assign = assign.WithGroups(d.Groups)
	}
	expose := exposure.New(assignment.New(d.Definitions, d.Store), d.Store).WithHoldouts(d.Holdouts)
	var groups evaluation.Groups
	if d.Groups != nil {
		groups = d.Groups
	}
	return evaluation.New(d.Definitions, d.Flags, groups, d.Store, assign, expose, d.Now)
}

// cacheSeconds reads EnvCacheSeconds; a bad value is logged and the
// default used, so a typo never takes the function down.
func cacheSeconds(logger *slog.Logger) int {
	v := os.Getenv(EnvCacheSeconds)
	if v == "" {
		return DefaultCacheSeconds
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		logger.Warn("ignoring a bad "+EnvCacheSeconds, "value", v)
		return DefaultCacheSeconds
	}
	return n
}
