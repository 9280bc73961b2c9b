// Command classic is the Lambda function serving the classic Experiments
// API as a drop-in: /api/experiments, for admin tokens.
// It only wires: the HTTP edge is shared/edge/api/classicapi, the logic
// the experiments and results use cases.
package main

import (
	"github.com/abtest/abtest/shared/edge/api/classicapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func main() { lambdafn.Run(routes.Classic, classicapi.Wire) }
