// Command aggregator keeps the experiments' counters from the table's change
// stream (Lambda event source mapping). It only wires; the logic is in
// shared/data/aggregator and its Lambda edge in shared/edge/streamfn.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/edge/streamfn"
)

func main() {
	d := lambdafn.Must(routes.Aggregator)
	lambda.Start(streamfn.Handler(d.Logger, aggregator.New(d.Store)))
}
