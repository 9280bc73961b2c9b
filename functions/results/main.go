// Command results is the Lambda function serving the results and recount routes.
// It only wires: the HTTP edge is shared/edge/api/resultsapi, the logic its use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Results, resultsapi.Wire) }
