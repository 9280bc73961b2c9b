// Command snapshots is the scheduled function (hourly) that writes today's
// snapshot of every live experiment's counters, the daily series results
// charts read, and trips the guardrail circuit breakers that opted in. It
// only wires; the logic is in shared/usecase/results.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/edge/snapshotfn"
)

func main() {
	d := lambdafn.Must(routes.Snapshots)
	lambda.Start(snapshotfn.Handler(d.Logger, resultsapi.UseCase(d), d.Store))
}
