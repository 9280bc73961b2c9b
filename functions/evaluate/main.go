// Command evaluate is the Lambda function serving one-call evaluation:
// POST and GET /v1/client/evaluate and POST /v1/server/evaluate.
// It only wires: the HTTP edge is shared/edge/api/evaluateapi, the logic its use case.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/evaluateapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Evaluate, evaluateapi.Wire) }
