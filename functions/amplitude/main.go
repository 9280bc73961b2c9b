// Command amplitude is the Lambda function serving Amplitude Experiment's
// remote evaluation API as a drop-in: GET /v1/vardata.
// It only wires: the HTTP edge is shared/edge/api/amplitudeapi, the logic
// the one-call evaluation use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/amplitudeapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Amplitude, amplitudeapi.Wire) }
