// Package samenv builds the --env-vars file of `sam local start-api` from a
// synthesized template: one entry per service function, keyed by the
// function's logical id, as SAM expects.
//
// SAM only overrides variables the template declares on the function, so a
// value for an undeclared variable is an error here instead of being ignored
// silently there (the dev stage declares AWS_ENDPOINT_URL_DYNAMODB for this).
package samenv

import (
	"encoding/json"
	"fmt"
	"sort"
)

// MarkerVar marks the service's functions: every one declares it.
const MarkerVar = "TABLE_NAME"

// EnvVars returns logical id -> variables for every AWS::Lambda::Function of
// template that declares MarkerVar, each with all of values.
func EnvVars(template []byte, values map[string]string) (map[string]map[string]string, error) {
	var t struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Environment struct {
					Variables map[string]any
				}
			}
		}
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, fmt.Errorf("samenv: template: %w", err)
	}
	out := map[string]map[string]string{}
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := t.Resources[id]
		declared := r.Properties.Environment.Variables
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		if _, ok := declared[MarkerVar]; !ok {
			continue
		}
		vars := map[string]string{}
		for k, v := range values {
			if _, ok := declared[k]; !ok {
				return nil, fmt.Errorf("samenv: function %s does not declare %s, so SAM would ignore it (synthesize the dev stage)", id, k)
			}
			vars[k] = v
		}
		out[id] = vars
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("samenv: no function in the template declares %s", MarkerVar)
	}
	return out, nil
}
