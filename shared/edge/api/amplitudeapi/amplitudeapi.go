// Package amplitudeapi serves Amplitude Experiment's remote evaluation API
// (GET /v1/vardata) over the one-call evaluation use case
// (shared/usecase/evaluation), so a backend that calls Amplitude switches
// by changing the base URL and the deployment key to a server key.
//
// Mapping: user_id and device_id name the unit (each experiment buckets the
// id of its unit kind); context.user_properties are the targeting
// attributes; flag_keys names flags and experiments alike (absent: all).
// The answer keeps only what the unit is in: an experiment it is enrolled
// in ({"key": variant, "payload": the variant's payload}) and a flag a rule
// decided ({"key": the value as a string, "payload": the value}); a flag at
// its default or switched off, and an experiment the unit is not in, are
// left out, as Amplitude leaves out the "off" variant. When a flag and an
// experiment share a key the flag's answer is kept: it is the value the app
// reads.
//
// The call enrols (Amplitude tracks an assignment) unless X-Amp-Exp-Track
// is no-track, which evaluates with nothing written (the evaluation's
// preview): an experiment answers the variant enrolling would give, but a
// flag's experiment rule follows only a stored enrolment, so for a unit not
// enrolled yet such a flag answers as for anyone outside the experiment.
// Exposures are not recorded: as with Amplitude, the app reports what it
// showed (POST /v1/server/exposures).
package amplitudeapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/edge/api/evaluateapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/evaluation"
)

// HeaderTrack is Amplitude's tracking header (lower case, as API Gateway
// passes headers); its value NoTrack evaluates without writing.
const (
	HeaderTrack = "x-amp-exp-track"
	NoTrack     = "no-track"
)

// CodeInvalidContext refuses a context parameter that is not a JSON object
// (Amplitude answers 400 for it; the body is the service's).
const CodeInvalidContext = "INVALID_CONTEXT"

// Variant is one key's answer, Amplitude's variant.
type Variant struct {
	Key     string          `json:"key"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// New returns the handler of GET /v1/vardata.
func New(logger *slog.Logger, uc *evaluation.Service) httpapi.Handler {
	return httpapi.Endpoint(logger, evaluation.CodeFailed, apikey.RoleServer,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			r, err := requestOf(req)
			if err != nil {
				return httpapi.Result{}, err
			}
			ans, err := uc.Evaluate(ctx, r)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.OK(variantsOf(ans)), nil
		})
}

// requestOf reads the query and the tracking header.
func requestOf(req httpapi.Request) (evaluation.Request, error) {
	q := req.QueryStringParameters
	r := evaluation.Request{Enroll: !strings.EqualFold(strings.TrimSpace(req.Headers[HeaderTrack]), NoTrack)}
	r.UserID, r.DeviceID = q["user_id"], q["device_id"]
	attrs, err := contextAttributes(q["context"])
	if err != nil {
		return r, err
	}
	r.Attributes = attrs
	if v, ok := q["flag_keys"]; ok && strings.TrimSpace(v) != "" {
		keys := evaluateapi.List(v)
		r.Experiments, r.Flags = keys, keys
	}
	return r, nil
}

// contextAttributes decodes the context parameter: a JSON object whose
// user_properties are the unit's attributes ("" or absent: none).
func contextAttributes(raw string) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	bad := fault.New(fault.Invalid, CodeInvalidContext,
		`context must be a URL-encoded JSON object, e.g. context=%7B%22user_properties%22%3A%7B%22premium%22%3Atrue%7D%7D for {"user_properties":{"premium":true}}`)
	if len(raw) > httpapi.MaxAttributesBytes {
		return nil, bad
	}
	var c struct {
		UserProperties json.RawMessage `json:"user_properties"`
	}
	t := httpapi.TrimJSONSpace([]byte(raw))
	if len(t) == 0 || t[0] != '{' || !httpapi.ValidJSON(t) || json.Unmarshal(t, &c) != nil {
		return nil, bad
	}
	if p := httpapi.TrimJSONSpace(c.UserProperties); len(p) > 0 && string(p) != "null" {
		return httpapi.Attributes(string(p))
	}
	return nil, nil
}

// variantsOf keeps what the unit is in, keyed as Amplitude keys it.
func variantsOf(a evaluation.Answer) map[string]Variant {
	out := make(map[string]Variant, len(a.Experiments)+len(a.Flags))
	for k, e := range a.Experiments {
		// not_assigned is a no-track call's answer for a unit enrolling
		// would put in the experiment: the variant it would get.
		if e.InExperiment || e.Reason == enrolment.ReasonNotAssigned {
			out[k] = Variant{Key: e.Variant, Payload: nonNull(e.Payload)}
		}
	}
	for k, f := range a.Flags {
		if f.Source == flag.SourceDefault || f.Source == flag.SourceDisabled {
			continue
		}
		out[k] = Variant{Key: httpapi.JSONText(f.Value), Payload: nonNull(f.Value)}
	}
	return out
}

func nonNull(p json.RawMessage) json.RawMessage {
	if t := httpapi.TrimJSONSpace(p); len(t) == 0 || string(t) == "null" {
		return nil
	}
	return p
}

// Wire builds the handler on the evaluation use case as the evaluate
// function wires it.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, evaluateapi.UseCase(d))
}
